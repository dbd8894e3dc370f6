/**
 * Loaded into the test process by scripts/test.ts: when the tests are done but the process does not
 * exit, the runner sends SIGUSR2 and this prints what is still holding it open.
 */
process.on('SIGUSR2', () => {
  process.stderr.write(`still open after the tests: ${JSON.stringify(process.getActiveResourcesInfo())}\n`)
  process.exit(0)
})
