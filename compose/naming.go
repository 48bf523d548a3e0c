package compose

import (
	"fmt"
	"strconv"
)

// ContainerName is docker compose's name for replica n of a service.
func ContainerName(project, service string, n int) string {
	return project + "-" + service + "-" + strconv.Itoa(n)
}

// DefaultImageName is the image docker compose builds for a service that has
// a build section and no image.
func DefaultImageName(project, service string) string {
	return project + "-" + service
}

// NetworkName is the engine name of a project network key without an explicit name.
func NetworkName(project, key string) string {
	return fmt.Sprintf("%s_%s", project, key)
}
