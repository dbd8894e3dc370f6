/**
 * The JSON Schema (draft 2020-12) of JobSpec v1, built from the same constants the validator uses.
 * Leases carry JobSpecs between peers; the schema is what other implementations build against.
 */
import {
  DEFAULT_LIMITS, DEFAULT_MAX_LIMITS, MAX_ARGV_ITEMS, MAX_ENV_VARS, MAX_INPUT_FILES, MAX_PATH_BYTES, MIN_LIMITS
} from './constants.ts'

export function jobSpecSchema (): Record<string, unknown> {
  const bytes = {
    oneOf: [
      { type: 'object', properties: { text: { type: 'string' } }, required: ['text'], additionalProperties: false },
      { type: 'object', properties: { base64: { type: 'string', contentEncoding: 'base64' } }, required: ['base64'], additionalProperties: false }
    ]
  }
  const limits = Object.fromEntries(Object.keys(DEFAULT_LIMITS).map((key) => {
    const k = key as keyof typeof DEFAULT_LIMITS
    return [k, { type: k === 'cpus' ? 'number' : 'integer', minimum: MIN_LIMITS[k], maximum: DEFAULT_MAX_LIMITS[k], default: DEFAULT_LIMITS[k] }]
  }))
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'clawnode:job-spec:v1',
    title: 'clawnode JobSpec v1',
    description: 'A container job for a clawnode provider. Maximum limits shown are the defaults; each provider may lower them. Sizes of env, stdin and files are capped too (see LIMITS.md).',
    type: 'object',
    required: ['version', 'image', 'argv'],
    additionalProperties: false,
    properties: {
      version: { const: 1 },
      image: { type: 'string', pattern: '^sha256:[0-9a-f]{64}$', description: 'Image ID (not a tag): the one name that is the same on every host.' },
      argv: { type: 'array', minItems: 1, maxItems: MAX_ARGV_ITEMS, items: { type: 'string' } },
      env: { type: 'object', maxProperties: MAX_ENV_VARS, propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }, additionalProperties: { type: 'string' } },
      stdin: bytes,
      files: {
        type: 'array',
        maxItems: MAX_INPUT_FILES,
        items: {
          type: 'object',
          required: ['path', 'content'],
          additionalProperties: false,
          properties: {
            path: { type: 'string', minLength: 1, maxLength: MAX_PATH_BYTES, description: 'Relative path under /in; no "..", ".", empty parts or backslashes.' },
            content: bytes,
            mode: { type: 'integer', minimum: 0, maximum: 0o777, default: 0o644 }
          }
        }
      },
      limits: { type: 'object', additionalProperties: false, properties: limits }
    }
  }
}
