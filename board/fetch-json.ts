// Moved to platform/ (the alerts CLI uses it too); kept so the board's imports stay short.
export * from '../platform/fetch-json.ts';
