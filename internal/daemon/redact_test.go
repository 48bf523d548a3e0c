package daemon_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The daemon's API returns releases with their recorded spec: the
// notification URLs in it show scheme and host only, on the deploy's
// result line and on GET of the stack, the stacks and the releases. The
// store keeps them whole.
func TestAPI_ReleasesHideNotifyURLs(t *testing.T) {
	slack := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer slack.Close()
	const slackSecret, hookSecret = "SLACKPATHSECRET", "WEBHOOKPATHSECRET"
	slackURL := slack.URL + "/services/" + slackSecret
	dir := filepath.Join(t.TempDir(), "shop")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "compose.yaml")
	content := "name: shop\nservices:\n  web:\n    image: hello:1\nx-cutover:\n  min_ready: 0s\n  health_timeout: 20s\n" +
		"  notify:\n    slack: " + slackURL + "\n    webhook: {url: \"" + slack.URL + "/fail/" + hookSecret + "\"}\n"
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, daemonOptions{})

	lines, closeBody := postStream(t, context.Background(), d, "/v1/stacks/shop/deploy", deployBody(t, file))
	var last string
	for lines.Scan() {
		last = lines.Text()
	}
	closeBody()
	if !strings.Contains(last, `"result"`) || !strings.Contains(last, `"status":"active"`) || !strings.Contains(last, `"spec"`) {
		t.Fatalf("deploy's last line is not the active release with its spec: %s", last)
	}
	answers := map[string]string{"POST /v1/stacks/shop/deploy (result)": last}
	for _, path := range []string{"/v1/stacks/shop", "/v1/stacks", "/v1/stacks/shop/releases"} {
		resp, err := d.http().Get("http://cutover" + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s %s", path, resp.Status, body)
		}
		answers["GET "+path] = string(body)
	}
	for what, body := range answers {
		if strings.Contains(body, slackSecret) || strings.Contains(body, hookSecret) {
			t.Errorf("%s shows a notification URL whole:\n%s", what, body)
		}
	}
	if st := answers["GET /v1/stacks/shop"]; !strings.Contains(st, `"slack":"`+slack.URL+`/***"`) {
		t.Errorf("GET /v1/stacks/shop does not show the slack URL redacted:\n%s", st)
	}

	rel, err := d.store.GetRelease(context.Background(), "shop", 1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(rel.Spec), slackURL) {
		t.Errorf("the release record lost the slack URL:\n%s", rel.Spec)
	}
}
