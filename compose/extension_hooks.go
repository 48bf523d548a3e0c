package compose

import "fmt"

// Hooks is the stack-level x-cutover.hooks block: the environment variables
// (of the `cutover serve` process) holding this stack's own webhook
// secrets. A stack that names its own secret for a source is deployed by
// that source's hooks only when they carry its secret; the daemon's global
// secret does not reach it. Secrets themselves never go in the compose file,
// which cutover records with every release.
type Hooks struct {
	// DockerHubTokenEnv holds the token of /hooks/dockerhub/<token>.
	DockerHubTokenEnv string `yaml:"dockerhub_token_env,omitempty" json:"dockerhub_token_env,omitempty"`
	// RegistryAuthEnv holds the Authorization header (or bare bearer
	// token) the registry sends to /hooks/registry.
	RegistryAuthEnv string `yaml:"registry_auth_env,omitempty" json:"registry_auth_env,omitempty"`
	// GitHubSecretEnv holds the GitHub webhook secret (X-Hub-Signature-256).
	GitHubSecretEnv string `yaml:"github_secret_env,omitempty" json:"github_secret_env,omitempty"`
	// GenericSecretEnv holds the HMAC key of X-Cutover-Signature-256, and
	// GenericTokenEnv a bearer token, for /hooks/generic.
	GenericSecretEnv string `yaml:"generic_secret_env,omitempty" json:"generic_secret_env,omitempty"`
	GenericTokenEnv  string `yaml:"generic_token_env,omitempty" json:"generic_token_env,omitempty"`
}

func hooksKeys() []string {
	return []string{"dockerhub_token_env", "registry_auth_env", "github_secret_env", "generic_secret_env", "generic_token_env"}
}

func (h Hooks) validate(path string) error {
	for name, env := range map[string]string{"dockerhub_token_env": h.DockerHubTokenEnv, "registry_auth_env": h.RegistryAuthEnv,
		"github_secret_env": h.GitHubSecretEnv, "generic_secret_env": h.GenericSecretEnv, "generic_token_env": h.GenericTokenEnv} {
		if env != "" && !isEnvName(env) {
			return fmt.Errorf("%s.%s: %q is not an environment variable name (letters, digits and _, not starting with a digit); the secret itself goes in that variable, never in the file", path, name, env)
		}
	}
	return nil
}
