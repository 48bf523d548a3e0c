package compose

// Labels cutover puts on what it creates. The com.docker.compose.* labels are
// docker compose's own, so `docker compose ps`, `docker-compose -p NAME ps`
// and `docker ps --filter label=com.docker.compose.project=NAME` list
// cutover's containers; io.cutover.* are cutover's.
const (
	LabelProject     = "com.docker.compose.project"
	LabelService     = "com.docker.compose.service"
	LabelNumber      = "com.docker.compose.container-number"
	LabelOneoff      = "com.docker.compose.oneoff"
	LabelConfigHash  = "com.docker.compose.config-hash"
	LabelImage       = "com.docker.compose.image" // local image ID
	LabelVersion     = "com.docker.compose.version"
	LabelWorkingDir  = "com.docker.compose.project.working_dir"
	LabelConfigFiles = "com.docker.compose.project.config_files"
	LabelDependsOn   = "com.docker.compose.depends_on"
	LabelNetwork     = "com.docker.compose.network"
	LabelVolume      = "com.docker.compose.volume"

	// LabelStack names the cutover stack a resource belongs to (the compose
	// project name, also for blue-green colors which run as <stack>-<color>).
	LabelStack = "io.cutover.stack"
	// LabelRelease is the release number that created a container.
	LabelRelease = "io.cutover.release"
	// LabelColor is blue or green for colored services in blue-green.
	LabelColor = "io.cutover.color"
)

// ComposeVersion is what cutover writes in com.docker.compose.version: the
// compose file format generation it follows, so docker compose does not
// treat the containers as foreign.
const ComposeVersion = "2.0.0"
