export * from './topics.ts';
export * from './payloads.ts';
export * from './site.ts';
export * from './config.ts';
