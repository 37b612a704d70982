// esbuild bundles the CSS imports of the page.
declare module '*.css';
