package watch

import (
	"fmt"

	"github.com/distribution/reference"
)

// SplitImage splits a compose service's image into the repository, named
// the way webhook.Push.Repo names it ("myorg/web" → "docker.io/myorg/web"),
// and the tag ("latest" when the image has none). An image pinned by digest
// alone has tag "": no push moves it.
func SplitImage(image string) (repo, tag string, err error) {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return "", "", fmt.Errorf("image %q: %w", image, err)
	}
	repo = named.Name()
	if t, ok := named.(reference.Tagged); ok {
		return repo, t.Tag(), nil
	}
	if _, ok := named.(reference.Digested); ok {
		return repo, "", nil
	}
	return repo, "latest", nil
}
