SWIFT ?= swift

.PHONY: deps build release test test-web lint run run-shards bench bench-ws sanitize fuzz clean version deb \
	deploy-check deploy-check-clone

deps:
	scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# The suites start real processes (nginx, the servers, writers killed mid-write) and some check promises in real time
# (a revoked key refused within a second): on two cores, running every suite at once starves them, so at most
# TEST_WIDTH tests run at a time. The bundle is run directly because `swift test` cannot pass that limit on.
# The suites in ALONE_SUITES time deliveries against the contract's 50 ms while they load the machine themselves:
# they run afterwards, one at a time, with the cores to themselves.
TEST_WIDTH ?= 4
ALONE_SUITES := WebSocketHostileClientTests
test:
	scripts/install-deps.sh test
	$(SWIFT) build --build-tests
	"$$($(SWIFT) build --show-bin-path)/taskdPackageTests.xctest" --testing-library swift-testing \
		--experimental-maximum-parallelization-width $(TEST_WIDTH) --skip '$(ALONE_SUITES)'
	"$$($(SWIFT) build --show-bin-path)/taskdPackageTests.xctest" --testing-library swift-testing \
		--experimental-maximum-parallelization-width 1 --filter '$(ALONE_SUITES)'
	scripts/test-web.sh

# The web tests alone (Chromium, schemathesis, the commands of `make run` and the documents), as `make test` ends.
test-web:
	scripts/install-deps.sh test
	$(SWIFT) build
	scripts/test-web.sh

# Every language's linter, clean or failing: swift-format (.swift-format), shellcheck (.shellcheckrc), ESLint for web/
# (.eslintrc.json) and ruff for the Python (ruff.toml); see scripts/lint.sh.
lint:
	SWIFT="$(SWIFT)" scripts/lint.sh

# The README's first command: nginx + taskd-fcgi + taskd-ws on 127.0.0.1:$${TASKD_HTTP_PORT:-8080}, in the foreground.
run:
	scripts/run.sh

# $${TASKD_SHARDS:-2} complete stacks behind a front nginx on 127.0.0.1:$${TASKD_HTTP_PORT:-8080} that routes each key to
# its shard; see docs/scaling.md.
run-shards:
	scripts/run-shards.sh

# REST benchmark through nginx (wrk), with its ceilings measured in the same run; see BENCHMARKS.md.
bench:
	scripts/bench.sh

# WebSocket benchmark: change-to-frame latency at 1/100/1,000 subscribers, memory per idle connection; see BENCHMARKS.md.
bench-ws:
	scripts/bench-ws.sh

# The store, API and responder tests under ThreadSanitizer and AddressSanitizer (scratch paths .build-tsan and
# .build-asan), then GET/POST load against taskd-fcgi with glibc's malloc checking; see scripts/sanitize.sh.
sanitize:
	scripts/sanitize.sh

# libFuzzer targets for every decoder of stored files (scratch path .build-fuzz), FUZZ_SECONDS each (default 30);
# `make fuzz FUZZ_TARGETS=journal-line` runs one. See scripts/fuzz.sh and docs/state-directory.md, "Fuzzing".
fuzz:
	scripts/fuzz.sh $(FUZZ_TARGETS)

clean:
	rm -rf .build

# ---- version and Debian package --------------------------------------------------------------------------------
# The version is written in one place, Sources/TaskAPI/TaskdVersion.swift: each binary's --version prints it, the
# package takes it from here, and a test checks the OpenAPI document says the same.
VERSION := $(shell sed -n 's/^ *public static let current = "\(.*\)"$$/\1/p' Sources/TaskAPI/TaskdVersion.swift)

version:
	@echo $(VERSION)

# dist/taskd_<version>_<arch>.deb, built by dpkg-buildpackage from debian/ (static Swift stdlib, no toolchain needed
# on the server), checked with lintian; see docs/deploying.md. DEB_REBUILD=N builds <version>+bN instead.
deb:
	scripts/deb.sh

# Installs dist/'s package into a booted Debian 12 container (systemd-nspawn) and checks it end to end: site, key,
# REST and WebSocket through nginx, an upgrade (to the +b1 rebuild) that keeps the state, purge. Needs root and
# Debian's mirror; not part of `make test`.
deploy-check:
	scripts/deb.sh
	DEB_REBUILD=1 scripts/deb.sh
	scripts/deploy-check.sh

# The same for the path from a clone (`make install` in the container) with the binaries of SWIFT_BIN (default the
# debug build); needs root and Debian's mirror. See docs/deploying.md.
deploy-check-clone:
	scripts/deploy-check-clone.sh

# ---- install / uninstall -------------------------------------------------------------------------------------
# `make release && sudo make install`. Installs prebuilt binaries (install never builds, so it also works from a
# tree built by another user); CONFIGURATION=debug installs the debug build, SWIFT_BIN names any other build dir.
# Units, sysusers.d and tmpfiles.d go under PREFIX/lib, which systemd searches for /usr/local and /usr alike;
# configuration goes to SYSCONFDIR (/etc) whatever PREFIX is, because the units read /etc/taskd/taskd.env.
PREFIX ?= /usr/local
DESTDIR ?=
CONFIGURATION ?= release
SWIFT_BIN ?= .build/$(CONFIGURATION)
BINDIR ?= $(PREFIX)/bin
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
DATADIR ?= $(PREFIX)/share/taskd
DOCDIR ?= $(PREFIX)/share/doc/taskd
SYSCONFDIR ?= /etc
NGINXDIR ?= $(SYSCONFDIR)/nginx

TASKD_BINARIES = taskd-fcgi taskd-ws taskctl
TASKD_UNITS = taskd-fcgi.socket taskd-fcgi.service taskd-ws.service taskd.target
TASKD_WEB_FILES = $(wildcard web/*.html web/*.css web/*.js web/*.svg)

.PHONY: install uninstall

install:
	@for binary in $(TASKD_BINARIES); do \
		test -x "$(SWIFT_BIN)/$$binary" || { echo "$(SWIFT_BIN)/$$binary is missing: run 'make $(CONFIGURATION)' first" >&2; exit 1; }; \
	done
	install -d -m 0755 "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(UNITDIR)" "$(DESTDIR)$(SYSUSERSDIR)" \
		"$(DESTDIR)$(TMPFILESDIR)" "$(DESTDIR)$(DATADIR)" "$(DESTDIR)$(DOCDIR)"
	for binary in $(TASKD_BINARIES); do install -m 0755 "$(SWIFT_BIN)/$$binary" "$(DESTDIR)$(BINDIR)/$$binary"; done
	for unit in $(TASKD_UNITS); do \
		sed 's|/usr/local/bin/|$(BINDIR)/|g' "systemd/$$unit" > "$(DESTDIR)$(UNITDIR)/$$unit.tmp" && \
		chmod 0644 "$(DESTDIR)$(UNITDIR)/$$unit.tmp" && mv "$(DESTDIR)$(UNITDIR)/$$unit.tmp" "$(DESTDIR)$(UNITDIR)/$$unit"; \
	done
	install -m 0644 systemd/sysusers.d/taskd.conf "$(DESTDIR)$(SYSUSERSDIR)/taskd.conf"
	install -m 0644 systemd/tmpfiles.d/taskd.conf "$(DESTDIR)$(TMPFILESDIR)/taskd.conf"
	install -m 0644 systemd/taskd.env.example "$(DESTDIR)$(DATADIR)/taskd.env.example"
	install -m 0644 docs/deploying.md "$(DESTDIR)$(DOCDIR)/deploying.md"
	install -m 0644 openapi/openapi.yaml "$(DESTDIR)$(DATADIR)/openapi.yaml"
	install -m 0644 openapi/asyncapi.yaml "$(DESTDIR)$(DATADIR)/asyncapi.yaml"
	# The dashboard nginx serves at `/`.
	install -d -m 0755 "$(DESTDIR)$(DATADIR)/web"
	install -m 0644 $(TASKD_WEB_FILES) "$(DESTDIR)$(DATADIR)/web/"
	# nginx: the locations are taskd's own and always replaced; the site is the operator's (server_name, TLS), so
	# it is written once, with a pristine copy kept in DATADIR/nginx for comparison after upgrades.
	install -d -m 0755 "$(DESTDIR)$(NGINXDIR)/sites-available" "$(DESTDIR)$(DATADIR)/nginx"
	install -m 0644 nginx/taskd-locations.conf "$(DESTDIR)$(NGINXDIR)/taskd-locations.conf"
	sed -e 's|/etc/nginx/taskd-locations.conf|$(NGINXDIR)/taskd-locations.conf|' \
		-e 's|set $$taskd_openapi_root /usr/share/taskd;|set $$taskd_openapi_root $(DATADIR);|' \
		-e 's|set $$taskd_web_root /usr/share/taskd/web;|set $$taskd_web_root $(DATADIR)/web;|' \
		nginx/taskd.conf > "$(DESTDIR)$(DATADIR)/nginx/taskd.conf"
	chmod 0644 "$(DESTDIR)$(DATADIR)/nginx/taskd.conf"
	test -e "$(DESTDIR)$(NGINXDIR)/sites-available/taskd" || \
		install -m 0644 "$(DESTDIR)$(DATADIR)/nginx/taskd.conf" "$(DESTDIR)$(NGINXDIR)/sites-available/taskd"
	# The env file is the operator's: written once, never overwritten.
	install -d -m 0755 "$(DESTDIR)$(SYSCONFDIR)/taskd"
	test -e "$(DESTDIR)$(SYSCONFDIR)/taskd/taskd.env" || \
		install -m 0644 systemd/taskd.env.example "$(DESTDIR)$(SYSCONFDIR)/taskd/taskd.env"

# Leaves the state (/var/lib/taskd: workspaces, change log, keys), /etc/taskd/taskd.env and the nginx site alone.
uninstall:
	for binary in $(TASKD_BINARIES); do rm -f "$(DESTDIR)$(BINDIR)/$$binary"; done
	for unit in $(TASKD_UNITS); do rm -f "$(DESTDIR)$(UNITDIR)/$$unit"; done
	rm -f "$(DESTDIR)$(SYSUSERSDIR)/taskd.conf" "$(DESTDIR)$(TMPFILESDIR)/taskd.conf"
	rm -rf "$(DESTDIR)$(DATADIR)" "$(DESTDIR)$(DOCDIR)"
	rm -f "$(DESTDIR)$(NGINXDIR)/taskd-locations.conf"
	@echo "Left in place: /var/lib/taskd (state and keys), $(SYSCONFDIR)/taskd/taskd.env and $(NGINXDIR)/sites-available/taskd." >&2
