// An InfluxQL target for Grafana's InfluxDB datasource. The foundation SDK has no InfluxDB query
// type, so this follows its documented "custom query type" pattern (an interface marked as a
// Dataquery variant plus a Builder). Only raw InfluxQL (rawQuery: true): no Flux anywhere, so the
// same dashboards work on InfluxDB 1.x, 2.x (automatic DBRP mapping) and 3.x.
import type { Builder, Dataquery } from '@grafana/grafana-foundation-sdk/cog';

/** The provisioned datasource (dashboards/provisioning/datasources/influxdb.yaml). */
export const DATASOURCE_UID = 'influxdb-fire';
export const DATASOURCE = { type: 'influxdb', uid: DATASOURCE_UID } as const;

export type ResultFormat = 'time_series' | 'table';

export interface InfluxQLQuery {
  refId?: string;
  hide?: boolean;
  datasource?: { type: string; uid: string };
  query: string;
  rawQuery: true;
  resultFormat: ResultFormat;
  /** Legend pattern for time series ($tag_node, $col). */
  alias?: string;
  /** Annotation targets only: which columns carry the text and the tags. */
  fromAnnotations?: boolean;
  textColumn?: string;
  tagsColumn?: string;
  titleColumn?: string;
  _implementsDataqueryVariant(): void;
}

export class InfluxQLBuilder implements Builder<Dataquery> {
  private readonly internal: InfluxQLQuery;

  constructor(query: string, resultFormat: ResultFormat = 'time_series') {
    this.internal = { datasource: { ...DATASOURCE }, query, rawQuery: true, resultFormat, _implementsDataqueryVariant() {} };
  }

  build(): InfluxQLQuery {
    return this.internal;
  }

  refId(refId: string): this {
    this.internal.refId = refId;
    return this;
  }

  hide(hide: boolean): this {
    this.internal.hide = hide;
    return this;
  }

  alias(alias: string): this {
    this.internal.alias = alias;
    return this;
  }

  /** Marks the target as an annotation query (Grafana's InfluxQL annotation support). */
  annotation(columns: { text: string; tags: string; title?: string }): this {
    this.internal.fromAnnotations = true;
    this.internal.textColumn = columns.text;
    this.internal.tagsColumn = columns.tags;
    this.internal.titleColumn = columns.title ?? '';
    return this;
  }
}

/** Shorthands: a time-series target and a table target. */
export const series = (refId: string, query: string, alias?: string) => {
  const b = new InfluxQLBuilder(query, 'time_series').refId(refId);
  return alias ? b.alias(alias) : b;
};
export const table = (refId: string, query: string) => new InfluxQLBuilder(query, 'table').refId(refId);
