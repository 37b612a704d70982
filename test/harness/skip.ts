// vitest's describe.skipIf(reason) / it.skipIf(reason) skip on a truthy reason but keep no note of it
// (node:test printed `# SKIP <reason>`). The skip helpers (integrationSkipReason, gammuSkipReason…)
// return the reason or false; this puts it in the title of what is skipped, so the report says why:
//   describe.skipIf(skip)(skipTitle('broker → ingest → InfluxDB', skip), () => { … })
//   ↓ … > broker → ingest → InfluxDB [skipped: influxd not installed (apt-get install -y influxdb)] > …
// Where the tools are required (CI, EWS_REQUIRE_INTEGRATION) the helpers throw instead: never a skip.

/** `title`, or `title [skipped: reason]` when there is a reason to skip. */
export function skipTitle(title: string, reason: string | false): string {
  return reason ? `${title} [skipped: ${reason}]` : title;
}
