// The alerts service's boards' API as the board uses it: the open alerts with their deliveries, and
// an acknowledgement recorded with channel `board` (it stops repeats and escalation there); drills
// started, ended, listed and reported.
import { apiAckResponseSchema, apiAlertsResponseSchema, drillListResponseSchema, drillReportSchema, drillEndResponseSchema, drillStartResponseSchema, type ApiAlert, type DrillEnd, type DrillListResponse, type DrillReport, type DrillStart } from '../contracts/alerts-api.ts';
import { ApiFailover } from '../platform/api-failover.ts';

/** 500 open alerts with 150 recipients each is well under this. */
const MAX_LIST_BYTES = 8 * 1024 * 1024;
const TIMEOUT_MS = 5000;

/** `baseUrls`: BOARD_ALERTS_URL, one URL or a leader's and a standby's (the one that answers is used). */
export class AlertsClient {
  private readonly api: ApiFailover;
  constructor(
    baseUrls: string,
    private readonly apiKey: string,
  ) {
    this.api = new ApiFailover(baseUrls);
  }

  async openAlerts(): Promise<ApiAlert[]> {
    const body = await this.api.fetchJson('/api/alerts', { headers: { 'x-api-key': this.apiKey }, timeoutMs: TIMEOUT_MS, maxBytes: MAX_LIST_BYTES }, apiAlertsResponseSchema);
    return body.alerts;
  }

  /** Safe to send again to the other alerts URL: the service records an acknowledgement once (alreadyAcknowledged). */
  async acknowledge(alertId: string, by: string, memberId?: string): Promise<{ alreadyAcknowledged: boolean }> {
    const body = await this.api.fetchJson(
      '/api/ack',
      { method: 'POST', headers: { 'x-api-key': this.apiKey, 'content-type': 'application/json' }, body: JSON.stringify({ alertId, by, channel: 'board', ...(memberId ? { memberId } : {}) }), retrySafe: true, timeoutMs: TIMEOUT_MS, maxBytes: 64 * 1024 },
      apiAckResponseSchema,
    );
    return { alreadyAcknowledged: body.alreadyAcknowledged };
  }

  /** Drills (README "Drills"): started from the board, listed, reported. */
  async startDrill(req: DrillStart): Promise<{ drillId: string; recipients: number }> {
    const body = await this.api.fetchJson(
      '/api/drills',
      { method: 'POST', headers: { 'x-api-key': this.apiKey, 'content-type': 'application/json' }, body: JSON.stringify(req), timeoutMs: TIMEOUT_MS, maxBytes: 64 * 1024 },
      drillStartResponseSchema,
    );
    return { drillId: body.drillId, recipients: body.recipients };
  }

  /** Ends a drill now (no more repeats or escalation); `by` is the member who ended it. */
  async endDrill(drillId: string, by: string): Promise<void> {
    await this.api.fetchJson(
      `/api/drills/${encodeURIComponent(drillId)}/end`,
      { method: 'POST', headers: { 'x-api-key': this.apiKey, 'content-type': 'application/json' }, body: JSON.stringify({ by } satisfies DrillEnd), timeoutMs: TIMEOUT_MS, maxBytes: 64 * 1024 },
      drillEndResponseSchema,
    );
  }

  /** The drills and the scheduled slots that were skipped. */
  async drills(): Promise<DrillListResponse> {
    return this.api.fetchJson('/api/drills', { headers: { 'x-api-key': this.apiKey }, timeoutMs: TIMEOUT_MS, maxBytes: MAX_LIST_BYTES }, drillListResponseSchema);
  }

  async drillReport(drillId: string): Promise<DrillReport> {
    return this.api.fetchJson(`/api/drills/${encodeURIComponent(drillId)}`, { headers: { 'x-api-key': this.apiKey }, timeoutMs: TIMEOUT_MS, maxBytes: MAX_LIST_BYTES }, drillReportSchema);
  }
}
