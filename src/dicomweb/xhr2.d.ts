/** Types for `xhr2` 0.2.1, which ships none: it exports a Node implementation of XMLHttpRequest. */
declare module 'xhr2' {
  const XMLHttpRequestPolyfill: new () => XMLHttpRequest;
  export default XMLHttpRequestPolyfill;
}
