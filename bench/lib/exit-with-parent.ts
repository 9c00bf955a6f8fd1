// Preloaded into MailDev with --import: MailDev knows nothing of the benchmark, and
// this makes it exit when the benchmark's IPC channel closes, even if the benchmark
// itself was killed too abruptly to clean up.
process.once('disconnect', () => process.exit(0));
