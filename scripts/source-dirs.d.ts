// Types of source-dirs.js (plain JavaScript so scripts/start.js can read it before any loader).
export declare const SOURCE_DIRS: readonly string[];
