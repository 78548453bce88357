// Every test process: the stack name functions put on their metrics (STACK_NAME is set on every function).
process.env.STACK_NAME ??= "test-stack";
