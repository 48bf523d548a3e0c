package registrytest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"
	dockerregistry "github.com/docker/docker/api/types/registry"
)

// Engine is the part of the Docker client Push needs (*client.Client has it).
type Engine interface {
	ImageTag(ctx context.Context, source, target string) error
	ImagePush(ctx context.Context, ref string, opts image.PushOptions) (io.ReadCloser, error)
	ImageRemove(ctx context.Context, ref string, opts image.RemoveOptions) ([]image.DeleteResponse, error)
}

// Push tags a local image (ID or reference) as ref and pushes it through
// the Engine API, with auth as X-Registry-Auth; it returns the manifest
// digest the engine reports. Nothing is pulled.
func Push(ctx context.Context, engine Engine, source, ref string, auth dockerregistry.AuthConfig) (string, error) {
	if err := engine.ImageTag(ctx, source, ref); err != nil {
		return "", fmt.Errorf("tagging %s as %s: %w", source, ref, err)
	}
	header, err := dockerregistry.EncodeAuthConfig(auth)
	if err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	body, err := engine.ImagePush(ctx, ref, image.PushOptions{RegistryAuth: header})
	if err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	defer body.Close()
	digest, err := pushDigest(body)
	if err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	return digest, nil
}

// pushDigest reads the engine's push message stream to its end; errors
// arrive in it with HTTP 200. The digest is in the final aux message.
func pushDigest(r io.Reader) (string, error) {
	dec := json.NewDecoder(r)
	digest := ""
	for {
		var m struct {
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
			Aux *struct {
				Digest string `json:"Digest"`
			} `json:"aux"`
		}
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return "", fmt.Errorf("reading engine output: %w", err)
		}
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			return "", errors.New(m.ErrorDetail.Message)
		}
		if m.Error != "" {
			return "", errors.New(m.Error)
		}
		if m.Aux != nil && m.Aux.Digest != "" {
			digest = m.Aux.Digest
		}
	}
	if digest == "" {
		return "", errors.New("the engine reported no digest")
	}
	return digest, nil
}

// Push tags source as <Addr>/<repo>:<tag>, pushes it with auth, removes
// the tag when the test ends, and returns the pushed digest.
func (r *Registry) Push(tb testing.TB, engine Engine, source, repo, tag string, auth dockerregistry.AuthConfig) string {
	tb.Helper()
	ref := r.Ref(repo, tag)
	auth.ServerAddress = r.Addr
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// Untag only: the image itself belongs to whoever built it.
		if _, err := engine.ImageRemove(ctx, ref, image.RemoveOptions{}); err != nil && !cerrdefs.IsNotFound(err) {
			tb.Errorf("removing tag %s: %v", ref, err)
		}
	})
	digest, err := Push(tb.Context(), engine, source, ref, auth)
	if err != nil {
		tb.Fatal(err)
	}
	return digest
}
