// The start-up floor of any Swift program built as pumpctl is (`swift
// build -c release --static-swift-stdlib`): the runtime's own start and one
// line of output. `pumpwand-bench startup` prints its ratio to /bin/true
// beside pumpctl's (docs/performance-startup.md, "The floor").
print("PumpWand start-up floor")
