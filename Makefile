SWIFT ?= swift

.PHONY: deps build release test run bench bench-ws clean

deps:
	scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

# The README's first command: nginx + taskd-fcgi + taskd-ws on 127.0.0.1:$${TASKD_HTTP_PORT:-8080}, in the foreground.
run:
	scripts/run-local.sh

# REST benchmark through nginx (wrk), with its ceilings measured in the same run; see BENCHMARKS.md.
bench:
	scripts/bench-rest.sh

# WebSocket benchmark: change-to-frame latency at 1/100/1,000 subscribers, memory per idle connection; see BENCHMARKS.md.
bench-ws:
	scripts/bench-ws.sh

clean:
	rm -rf .build
