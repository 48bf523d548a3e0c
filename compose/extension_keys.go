package compose

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"go.yaml.in/yaml/v4"
)

// checkUnknownKeys reads each compose file's x-cutover blocks and rejects
// keys cutover does not know, naming the file and the field: a typo such as
// `rout:` must not be silently ignored.
func checkUnknownKeys(files []string) error {
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			// Stdin or a file that vanished; compose-go already parsed it.
			continue
		}
		var doc map[string]any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			continue // compose-go reported parse errors already
		}
		if err := checkBlock(doc[ExtensionKey], "stack", ExtensionKey); err != nil {
			return fmt.Errorf("%s: %w", relPath(f), err)
		}
		services, _ := doc["services"].(map[string]any)
		for name, svc := range services {
			m, _ := svc.(map[string]any)
			path := "services." + name + "." + ExtensionKey
			if err := checkBlock(m[ExtensionKey], "service", path); err != nil {
				return fmt.Errorf("%s: %w", relPath(f), err)
			}
		}
	}
	return nil
}

func checkBlock(raw any, block, path string) error {
	if list, ok := raw.([]any); ok && block == "steps" {
		for i, item := range list {
			if err := checkBlock(item, "step", fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return nil
	}
	known := knownKeys(block)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !contains(known, k) {
			return fmt.Errorf("%s.%s: unknown field (known: %s)", path, k, strings.Join(known, ", "))
		}
		if knownKeys(k) != nil || k == "steps" {
			if err := checkBlock(m[k], k, path+"."+k); err != nil {
				return err
			}
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
