// Content-Type handling shared by the REST routes.

/** The media type without parameters, lower-cased. */
export function mediaType(contentType: string): string {
  const semi = contentType.indexOf(';');
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

/**
 * Content types a JSON body may arrive with: none, any JSON type, text/plain, and curl -d's
 * application/x-www-form-urlencoded (TF Serving's own examples use curl -d).
 */
export function isJsonLike(type: string): boolean {
  return (
    type === '' ||
    type === 'application/json' ||
    type.endsWith('+json') ||
    type.endsWith('/json') ||
    type === 'text/plain' ||
    type === 'application/x-www-form-urlencoded'
  );
}
