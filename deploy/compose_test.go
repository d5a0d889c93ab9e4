package deploy

import (
	"bufio"
	"bytes"
	"go/build"
	"maps"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"

	"github.com/dunwell/dunwell/internal/pdffont"
	"github.com/dunwell/dunwell/workflows/invoiceapi"
)

// Service names in docker-compose.yml.
const (
	svcPostgres = "postgresql"
	svcTemporal = "temporal"
	svcSchema   = "temporal-schema"
	svcInit     = "temporal-init"
	svcUI       = "temporal-ui"
	svcFake     = "fakeproviders"
	svcWorker   = "worker"
	svcStarter  = "starter"
)

// builtServices are built from the repository's Dockerfile, with the binary each runs.
var builtServices = map[string]string{
	svcWorker:  "/app/worker",
	svcStarter: "/app/starter",
	svcFake:    "/app/fakeproviders",
}

// mainPackages are the packages the Dockerfile must build.
var mainPackages = []string{"./cmd/fakeproviders", "./starter", "./worker"}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(root, "go.mod"))
	return root
}

// loadCompose loads docker-compose.yml with compose-go, which validates it against
// the Compose specification, interpolates it with an empty environment (so the
// file's defaults apply) and resolves relative paths.
// testCodecKeys is a throwaway DUNWELL_CODEC_KEYS for loading the file.
const testCodecKeys = "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	p, err := loadComposeWith(t, types.Mapping{"DUNWELL_CODEC_KEYS": testCodecKeys})
	require.NoError(t, err)
	return p
}

// TestComposeRefusesToRunWithoutCodecKeys: the stack never starts with customer PII
// unencrypted in Temporal because someone forgot the key.
func TestComposeRefusesToRunWithoutCodecKeys(t *testing.T) {
	_, err := loadComposeWith(t, types.Mapping{})
	require.ErrorContains(t, err, "DUNWELL_CODEC_KEYS")
	p := loadCompose(t)
	for _, name := range []string{svcWorker, svcStarter} {
		require.Equal(t, testCodecKeys, env(t, service(t, p, name), "DUNWELL_CODEC_KEYS"))
	}
}

func loadComposeWith(t *testing.T, env types.Mapping) (*types.Project, error) {
	t.Helper()
	root := repoRoot(t)
	return loader.LoadWithContext(t.Context(), types.ConfigDetails{
		WorkingDir:  root,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(root, "docker-compose.yml")}},
		Environment: env,
	}, func(o *loader.Options) {
		o.ResolvePaths = true
	})
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, ok := p.Services[name]
	require.True(t, ok, "service %q missing from docker-compose.yml", name)
	return s
}

func env(t *testing.T, s types.ServiceConfig, key string) string {
	t.Helper()
	v, ok := s.Environment[key]
	require.True(t, ok && v != nil, "service %s: environment %s not set", s.Name, key)
	return *v
}

// hostPort splits a "host:port" and checks host is a service of the project.
func hostPort(t *testing.T, p *types.Project, what, hp string) (host, port string) {
	t.Helper()
	host, port, err := net.SplitHostPort(hp)
	require.NoError(t, err, "%s = %q", what, hp)
	_, ok := p.Services[host]
	require.True(t, ok, "%s = %q: no service named %q", what, hp, host)
	return host, port
}

func TestComposeServicesExist(t *testing.T) {
	p := loadCompose(t)
	require.Equal(t, "dunwell", p.Name)
	for _, name := range []string{svcPostgres, svcSchema, svcTemporal, svcInit, svcUI, svcFake, svcWorker, svcStarter} {
		s := service(t, p, name)
		require.NotEmpty(t, s.Restart, "service %s has no restart policy", name)
	}
	require.Equal(t, "no", service(t, p, svcInit).Restart, "the init service is one-shot")
	require.Equal(t, "no", service(t, p, svcSchema).Restart, "the schema step is one-shot")
}

func TestComposeBuildsOurServicesFromTheDockerfile(t *testing.T) {
	p := loadCompose(t)
	root := repoRoot(t)
	binaries := dockerfileBinaries(t)
	for name, bin := range builtServices {
		s := service(t, p, name)
		require.NotNil(t, s.Build, "service %s is not built", name)
		require.Equal(t, root, s.Build.Context, "service %s build context", name)
		dockerfile := s.Build.Dockerfile
		if !filepath.IsAbs(dockerfile) {
			dockerfile = filepath.Join(s.Build.Context, dockerfile)
		}
		require.Equal(t, filepath.Join(root, "Dockerfile"), dockerfile, "service %s Dockerfile", name)
		require.NotEmpty(t, s.Command, "service %s has no command", name)
		require.Equal(t, bin, s.Command[0], "service %s runs the wrong binary", name)
		require.Contains(t, binaries, path.Base(bin), "service %s runs %s, which the Dockerfile does not build", name, bin)
	}
	require.Contains(t, strings.Join(service(t, p, svcFake).Command, " "), "-addr 0.0.0.0:8025")
	require.Equal(t, []string{"/app/starter", "serve"}, []string(service(t, p, svcStarter).Command[:2]))
	starterEnv := service(t, p, svcStarter).Environment["LISTEN_ADDR"]
	require.NotNil(t, starterEnv, "the starter needs LISTEN_ADDR to listen beyond its container's loopback")
	require.Equal(t, "0.0.0.0:8080", *starterEnv)
}

func TestComposeImagesArePinned(t *testing.T) {
	p := loadCompose(t)
	for name, s := range p.Services {
		if s.Build != nil {
			continue
		}
		require.NotEmpty(t, s.Image, "service %s has neither image nor build", name)
		if strings.Contains(s.Image, "@sha256:") {
			continue // pinned by digest
		}
		last := s.Image[strings.LastIndex(s.Image, "/")+1:]
		_, tag, ok := strings.Cut(last, ":")
		require.True(t, ok && tag != "", "service %s: image %q has no tag", name, s.Image)
		require.NotEqual(t, "latest", tag, "service %s: image %q is not pinned", name, s.Image)
	}
}

func TestComposeAppWiring(t *testing.T) {
	p := loadCompose(t)
	pg := service(t, p, svcPostgres)
	fakeAddr := commandFlag(t, service(t, p, svcFake), "-addr")
	_, fakePort, err := net.SplitHostPort(fakeAddr)
	require.NoError(t, err)

	for _, name := range []string{svcWorker, svcStarter} {
		s := service(t, p, name)

		host, port := hostPort(t, p, name+" TEMPORAL_ADDRESS", env(t, s, "TEMPORAL_ADDRESS"))
		require.Equal(t, svcTemporal, host)
		require.Equal(t, "7233", port)
		require.Equal(t, "default", env(t, s, "TEMPORAL_NAMESPACE"))

		dbURL := env(t, s, "DATABASE_URL")
		u, err := url.Parse(dbURL)
		require.NoError(t, err, "%s DATABASE_URL", name)
		require.Equal(t, "postgres", u.Scheme)
		host, port = hostPort(t, p, name+" DATABASE_URL", u.Host)
		require.Equal(t, svcPostgres, host)
		require.Equal(t, "5432", port)
		require.Equal(t, env(t, pg, "POSTGRES_USER"), u.User.Username())
		pw, _ := u.User.Password()
		require.Equal(t, env(t, pg, "POSTGRES_PASSWORD"), pw)
		require.Equal(t, "/"+env(t, pg, "POSTGRES_DB"), u.Path)

		for _, key := range []string{"SENDGRID_BASE_URL", "TWILIO_BASE_URL"} {
			u, err := url.Parse(env(t, s, key))
			require.NoError(t, err, "%s %s", name, key)
			host, port := hostPort(t, p, name+" "+key, u.Host)
			require.Equal(t, svcFake, host, "%s %s", name, key)
			require.Equal(t, fakePort, port, "%s %s: fakeproviders listens on %s", name, key, fakeAddr)
		}
		for _, key := range []string{
			"SENDGRID_API_KEY", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER",
			"EMAIL_FROM", "LOG_LEVEL",
		} {
			require.NotEmpty(t, env(t, s, key), "%s %s", name, key)
		}
		require.True(t, strings.HasPrefix(env(t, s, "TWILIO_ACCOUNT_SID"), "AC"))
		require.True(t, strings.HasPrefix(env(t, s, "TWILIO_FROM_NUMBER"), "+"))

		requireDependsOn(t, s, svcPostgres, types.ServiceConditionHealthy)
		requireDependsOn(t, s, svcInit, types.ServiceConditionCompletedSuccessfully)
		requireDependsOn(t, s, svcFake, types.ServiceConditionStarted)
	}
}

func TestComposeTemporalUsesPostgres(t *testing.T) {
	p := loadCompose(t)
	pg := service(t, p, svcPostgres)
	require.NotNil(t, pg.HealthCheck, "postgresql has no healthcheck")
	require.Contains(t, strings.Join(pg.HealthCheck.Test, " "), "pg_isready")
	require.NotEmpty(t, pg.Volumes, "postgresql data is not on a volume")

	tmp := service(t, p, svcTemporal)
	requireDependsOn(t, tmp, svcPostgres, types.ServiceConditionHealthy)
	requireDependsOn(t, tmp, svcSchema, types.ServiceConditionCompletedSuccessfully)
	require.Equal(t, "postgres12", env(t, tmp, "DB"))
	require.Equal(t, "5432", env(t, tmp, "DB_PORT"))
	require.Equal(t, svcPostgres, env(t, tmp, "POSTGRES_SEEDS"))
	require.Equal(t, env(t, pg, "POSTGRES_USER"), env(t, tmp, "POSTGRES_USER"))
	require.Equal(t, env(t, pg, "POSTGRES_PASSWORD"), env(t, tmp, "POSTGRES_PWD"))
	// The server image, not the deprecated auto-setup one: the schema is a step of its own.
	require.True(t, strings.HasPrefix(tmp.Image, "temporalio/server:"), "temporal image %s", tmp.Image)
}

// TestComposeSetsUpTemporalSchema: the schema step creates both of Temporal's
// databases on the same PostgreSQL with Temporal's schema tool, from the schema files
// of the server's version, before the server starts.
func TestComposeSetsUpTemporalSchema(t *testing.T) {
	p := loadCompose(t)
	pg := service(t, p, svcPostgres)
	s := service(t, p, svcSchema)
	requireDependsOn(t, s, svcPostgres, types.ServiceConditionHealthy)
	require.Equal(t, "postgres12", env(t, s, "SQL_PLUGIN"))
	require.Equal(t, svcPostgres, env(t, s, "SQL_HOST"))
	require.Equal(t, "5432", env(t, s, "SQL_PORT"))
	require.Equal(t, env(t, pg, "POSTGRES_USER"), env(t, s, "SQL_USER"))
	require.Equal(t, env(t, pg, "POSTGRES_PASSWORD"), env(t, s, "SQL_PASSWORD"))
	_, serverVersion, _ := strings.Cut(service(t, p, svcTemporal).Image, ":")
	require.True(t, strings.HasPrefix(s.Image, "temporalio/admin-tools:"+serverVersion+"-"),
		"schema image %s is not the admin tools of server %s", s.Image, serverVersion)
	script := strings.Join(append(slices.Clone(s.Entrypoint), s.Command...), " ")
	for _, want := range []string{"temporal-sql-tool", "create-database", "setup-schema --version 0.0", "update-schema",
		"temporal:temporal", "temporal_visibility:visibility", "/etc/temporal/schema/postgresql/v12/"} {
		require.Contains(t, script, want, "temporal-schema")
	}
}

func TestComposePorts(t *testing.T) {
	p := loadCompose(t)
	requirePublishes(t, service(t, p, svcStarter), "8080", 8080)

	ui := service(t, p, svcUI)
	require.Empty(t, ui.Ports, "the UI is reached through the starter's /ui/, behind the API keys")
	host, port := hostPort(t, p, "temporal-ui TEMPORAL_ADDRESS", env(t, ui, "TEMPORAL_ADDRESS"))
	require.Equal(t, svcTemporal, host)
	require.Equal(t, "7233", port)
	// The UI lives under /ui on the starter's origin, and decodes through its /codec.
	require.Equal(t, "/ui", env(t, ui, "TEMPORAL_UI_PUBLIC_PATH"))
	require.Equal(t, "/codec", env(t, ui, "TEMPORAL_CODEC_ENDPOINT"))
	upstream, err := url.Parse(env(t, service(t, p, svcStarter), "DUNWELL_UI_UPSTREAM"))
	require.NoError(t, err)
	require.Equal(t, svcUI+":8080", upstream.Host)
}

func TestComposeRegistersEverySearchAttribute(t *testing.T) {
	p := loadCompose(t)
	s := service(t, p, svcInit)
	requireDependsOn(t, s, svcTemporal, types.ServiceConditionStarted)
	script := strings.Join(append(slices.Clone(s.Entrypoint), s.Command...), " ")
	require.Contains(t, script, "namespace create --address temporal:7233 --namespace default",
		"the server image creates no namespace: temporal-init must")

	_, create, ok := strings.Cut(script, "search-attribute create")
	require.True(t, ok, "temporal-init does not run `temporal operator search-attribute create`")
	got := map[string]enums.IndexedValueType{}
	var names, typeNames []string
	fields := strings.Fields(create)
	for i := 0; i+1 < len(fields); i++ {
		switch fields[i] {
		case "--name":
			names = append(names, fields[i+1])
		case "--type":
			typeNames = append(typeNames, fields[i+1])
		}
	}
	require.Len(t, typeNames, len(names), "every --name needs a --type")
	for i, name := range names {
		typ, err := enums.IndexedValueTypeFromString(typeNames[i])
		require.NoError(t, err, "type of %s", name)
		got[name] = typ
	}
	for name, want := range invoiceapi.SearchAttributes {
		typ, ok := got[name]
		require.True(t, ok, "search attribute %s is not registered by temporal-init", name)
		require.Equal(t, want, typ, "search attribute %s has the wrong type in temporal-init", name)
	}
	require.ElementsMatch(t, slices.Collect(maps.Keys(invoiceapi.SearchAttributes)), names,
		"temporal-init registers attributes invoiceapi.SearchAttributes does not have (or twice)")
}

func TestDockerfile(t *testing.T) {
	root := repoRoot(t)
	lines := dockerfileLines(t)

	var froms, builds, fonts []string
	var user string
	copiedModFiles, downloaded, copiedAll := -1, -1, -1
	for i, l := range lines {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			froms = append(froms, f[1])
		case "USER":
			user = f[1]
		case "COPY":
			switch {
			case slices.Contains(f, "go.mod") && slices.Contains(f, "go.sum"):
				copiedModFiles = i
			case len(f) >= 3 && f[1] == "." && f[2] == ".":
				copiedAll = i
			case strings.HasSuffix(f[len(f)-1], ".ttf"):
				fonts = append(fonts, f[len(f)-1])
			}
		case "RUN":
			if strings.Contains(l, "go mod download") {
				downloaded = i
			}
			if strings.Contains(l, "go build") {
				builds = append(builds, l)
			}
		}
	}

	require.Len(t, froms, 2, "want a build stage and a final stage")
	for _, img := range froms {
		last := img[strings.LastIndex(img, "/")+1:]
		_, tag, ok := strings.Cut(last, ":")
		require.True(t, ok && tag != "" && tag != "latest", "base image %q is not pinned", img)
	}
	require.True(t, strings.HasPrefix(froms[0], "golang:"+goMinor(t)), "build stage %s does not match go.mod's go %s", froms[0], goMinor(t))
	require.True(t, strings.HasPrefix(froms[1], "gcr.io/distroless/static-debian12:nonroot"), "final stage %s", froms[1])
	require.NotEmpty(t, user, "the final stage sets no USER")
	require.NotContains(t, []string{"root", "0", "0:0", "root:root"}, user)

	require.True(t, copiedModFiles >= 0 && downloaded > copiedModFiles && copiedAll > downloaded,
		"want COPY go.mod go.sum, then go mod download, then COPY . . (module download cached)")

	require.True(t, slices.ContainsFunc(fonts, func(f string) bool { return slices.Contains(pdffont.DefaultJA, f) }),
		"the final image has no Japanese font where pdffont.JA looks (%v): Japanese statements and letters would be printed in English", pdffont.DefaultJA)

	require.Len(t, builds, 1)
	require.Contains(t, builds[0], "-trimpath")
	require.True(t, slices.Contains(lines, "ENV CGO_ENABLED=0") || strings.Contains(builds[0], "CGO_ENABLED=0"), "CGO is not disabled")

	pkgs := dockerfilePackages(t)
	require.ElementsMatch(t, mainPackages, pkgs)
	for _, pkg := range pkgs {
		dir := filepath.Join(root, filepath.FromSlash(pkg))
		require.DirExists(t, dir, "the Dockerfile builds %s", pkg)
		bp, err := build.ImportDir(dir, 0)
		if _, ok := err.(*build.NoGoError); ok {
			t.Logf("%s has no Go files yet", pkg)
			continue
		}
		require.NoError(t, err, "package %s", pkg)
		require.Equal(t, "main", bp.Name, "%s is not a main package", pkg)
	}
}

// dockerfileLines returns the Dockerfile's instructions, continuation lines
// joined, comments and blank lines dropped.
func dockerfileLines(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "Dockerfile"))
	require.NoError(t, err)
	var out []string
	var cur strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(l, "#") || (l == "" && cur.Len() == 0) {
			continue
		}
		if cont, ok := strings.CutSuffix(l, `\`); ok {
			cur.WriteString(cont + " ")
			continue
		}
		cur.WriteString(l)
		out = append(out, strings.Join(strings.Fields(cur.String()), " "))
		cur.Reset()
	}
	require.NoError(t, sc.Err())
	return out
}

// dockerfilePackages returns the package paths ("./worker", ...) of the
// Dockerfile's go build.
func dockerfilePackages(t *testing.T) []string {
	t.Helper()
	var pkgs []string
	for _, l := range dockerfileLines(t) {
		_, args, ok := strings.Cut(l, "go build")
		if !ok {
			continue
		}
		for _, a := range strings.Fields(args) {
			if strings.HasPrefix(a, "./") {
				pkgs = append(pkgs, path.Clean(a))
			}
		}
	}
	for i, p := range pkgs {
		pkgs[i] = "./" + p
	}
	return pkgs
}

// dockerfileBinaries returns the names of the binaries the Dockerfile builds.
func dockerfileBinaries(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, p := range dockerfilePackages(t) {
		out = append(out, path.Base(p))
	}
	return out
}

// goMinor returns go.mod's language version as "1.N".
func goMinor(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "go.mod"))
	require.NoError(t, err)
	for l := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "go "); ok {
			parts := strings.SplitN(v, ".", 3)
			require.GreaterOrEqual(t, len(parts), 2, "go directive %q", v)
			return parts[0] + "." + parts[1]
		}
	}
	t.Fatal("go.mod has no go directive")
	return ""
}

// commandFlag returns the value following flag in the service's command.
func commandFlag(t *testing.T, s types.ServiceConfig, flag string) string {
	t.Helper()
	i := slices.Index(s.Command, flag)
	require.True(t, i >= 0 && i+1 < len(s.Command), "service %s: command has no %s value", s.Name, flag)
	return s.Command[i+1]
}

func requireDependsOn(t *testing.T, s types.ServiceConfig, on, condition string) {
	t.Helper()
	d, ok := s.DependsOn[on]
	require.True(t, ok, "service %s does not depend on %s", s.Name, on)
	require.Equal(t, condition, d.Condition, "service %s depends on %s", s.Name, on)
}

func requirePublishes(t *testing.T, s types.ServiceConfig, published string, target uint32) {
	t.Helper()
	for _, p := range s.Ports {
		if p.Published == published && p.Target == target {
			return
		}
	}
	t.Fatalf("service %s does not publish %s:%d (ports %+v)", s.Name, published, target, s.Ports)
}
