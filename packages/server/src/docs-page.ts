/** The parts of an OpenAPI 3 document the docs page shows. */
interface OpenApiDoc {
  info: { title: string; version: string; description?: string };
  paths: Record<string, Record<string, Operation>>;
  components?: { securitySchemes?: Record<string, SecurityScheme> };
}

interface SecurityScheme {
  type: string;
  scheme?: string;
  description?: string;
}

interface Operation {
  summary?: string;
  description?: string;
  parameters?: {
    name: string;
    in: string;
    required?: boolean;
    description?: string;
    schema?: Schema;
  }[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { description?: string }>;
  security?: Record<string, string[]>[];
}

interface Schema {
  type?: string | string[];
  enum?: unknown[];
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  items?: Schema;
  oneOf?: Schema[];
  default?: unknown;
  format?: string;
  description?: string;
  required?: string[];
  properties?: Record<string, Schema>;
}

const escapeHtml = (s: unknown): string =>
  String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The rule of a schema in words; a pattern is left to the description, which says it plainly. */
function constraints(s: Schema | undefined): string {
  if (s === undefined) return '';
  const parts: string[] = [];
  if (s.type !== undefined) parts.push(Array.isArray(s.type) ? s.type.join(' | ') : s.type);
  if (s.oneOf !== undefined) parts.push(s.oneOf.map(constraints).join(', or '));
  if (s.format !== undefined) parts.push(s.format);
  if (s.minLength !== undefined) parts.push(`min length ${s.minLength}`);
  if (s.maxLength !== undefined) parts.push(`max length ${s.maxLength}`);
  if (s.minimum !== undefined) parts.push(`≥ ${s.minimum}`);
  if (s.maximum !== undefined) parts.push(`≤ ${s.maximum}`);
  if (s.minItems !== undefined) parts.push(`at least ${s.minItems} items`);
  if (s.maxItems !== undefined) parts.push(`at most ${s.maxItems} items`);
  if (s.items !== undefined) parts.push(`items: ${constraints(s.items)}`);
  if (s.enum !== undefined) parts.push(`one of ${s.enum.join(', ')}`);
  if (s.default !== undefined) parts.push(`default ${String(s.default)}`);
  return parts.join('; ');
}

function table(rows: [string, string, string][]): string {
  if (rows.length === 0) return '';
  return `<table><thead><tr><th>name</th><th>rule</th><th>meaning</th></tr></thead><tbody>${rows
    .map(
      ([n, r, d]) =>
        `<tr><td><code>${escapeHtml(n)}</code></td><td>${escapeHtml(r)}</td><td>${escapeHtml(d)}</td></tr>`,
    )
    .join('')}</tbody></table>`;
}

/** `idempotency-key` → `Idempotency-Key`: schemas hold header names in lower case, as Node does. */
const headerCase = (name: string) =>
  name.replace(/(^|-)([a-z])/g, (_, dash, c) => dash + c.toUpperCase());

/** Parameters by where they go, each under its own heading. */
const PARAMETER_PLACES = [
  ['path', 'Path parameters'],
  ['query', 'Query parameters'],
  ['header', 'Headers'],
] as const;

/** How an operation is authenticated, in words: `Authorization: Bearer <token>` for a bearer scheme. */
function security(op: Operation, schemes: Record<string, SecurityScheme>): string {
  const names = (op.security ?? []).flatMap((requirement) => Object.keys(requirement));
  if (names.length === 0) return '';
  const how = names.map((name) =>
    schemes[name]?.scheme === 'bearer' ? 'Authorization: Bearer <token>' : name,
  );
  return `<p class="auth">Requires <code>${escapeHtml(how.join(' or '))}</code>.</p>`;
}

function operation(
  path: string,
  method: string,
  op: Operation,
  schemes: Record<string, SecurityScheme>,
): string {
  const parameters = PARAMETER_PLACES.map(([place, heading]) => {
    const rows = (op.parameters ?? [])
      .filter((p) => p.in === place)
      .map((p): [string, string, string] => [
        place === 'header' ? headerCase(p.name) : p.name,
        `${p.in}${p.required ? ', required' : ''}; ${constraints(p.schema)}`,
        p.description ?? p.schema?.description ?? '',
      ]);
    return rows.length > 0 ? `<h3>${heading}</h3>${table(rows)}` : '';
  }).join('');
  const body = Object.entries(op.requestBody?.content ?? {})[0];
  const bodySchema = body?.[1].schema;
  const fields = Object.entries(bodySchema?.properties ?? {}).map(
    ([name, s]): [string, string, string] => [
      name,
      `${bodySchema?.required?.includes(name) ? 'required; ' : ''}${constraints(s)}`,
      s.description ?? '',
    ],
  );
  const responses = Object.entries(op.responses ?? {})
    .map(
      ([status, r]) =>
        `<li><code>${escapeHtml(status)}</code> ${escapeHtml(r.description ?? '')}</li>`,
    )
    .join('');
  const id = `${method}-${path}`.replace(/[^a-z0-9]+/gi, '-');
  return `<section class="endpoint" id="${escapeHtml(id)}">
<h2><span class="method ${escapeHtml(method)}">${escapeHtml(method.toUpperCase())}</span> <code class="path">${escapeHtml(path)}</code></h2>
<p class="summary">${escapeHtml(op.summary ?? '')}</p>
${op.description ? `<p>${escapeHtml(op.description)}</p>` : ''}
${security(op, schemes)}
${parameters}
${fields.length ? `<h3>Body (${escapeHtml(body?.[0] ?? '')})</h3>${table(fields)}` : ''}
${responses ? `<h3>Responses</h3><ul>${responses}</ul>` : ''}
</section>`;
}

/**
 * A self-contained HTML page describing the API, rendered from the OpenAPI
 * document (no scripts, no external assets): the browsable page the original
 * service had, without a front-end bundle.
 */
export function renderDocsPage(doc: OpenApiDoc): string {
  const schemes = doc.components?.securitySchemes ?? {};
  const sections = Object.entries(doc.paths)
    .flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => operation(path, method, op, schemes)),
    )
    .join('\n');
  const authentication = Object.values(schemes)
    .map((scheme) => `<p class="auth">${escapeHtml(scheme.description ?? '')}</p>`)
    .join('');
  const nav = Object.entries(doc.paths)
    .flatMap(([path, ops]) =>
      Object.keys(ops).map(
        (m) =>
          `<li><a href="#${escapeHtml(`${m}-${path}`.replace(/[^a-z0-9]+/gi, '-'))}">${escapeHtml(m.toUpperCase())} ${escapeHtml(path)}</a></li>`,
      ),
    )
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(doc.info.title)} — API docs</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}
h1{margin-bottom:.2rem}code{font:14px ui-monospace,monospace;background:#f3f4f6;padding:.1rem .3rem;border-radius:4px}
.endpoint{border:1px solid #d0d7de;border-radius:8px;padding:0 1rem 1rem;margin:1.5rem 0}
.method{display:inline-block;min-width:4.5rem;text-align:center;color:#fff;border-radius:4px;padding:.1rem .5rem;font-size:14px}
.get{background:#0969da}.post{background:#1a7f37}.put,.patch{background:#9a6700}.delete{background:#cf222e}
.auth{border-left:4px solid #9a6700;padding-left:.6rem}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #d0d7de;padding:.3rem;text-align:left;vertical-align:top}
</style>
</head>
<body>
<h1>${escapeHtml(doc.info.title)}</h1>
<p>version ${escapeHtml(doc.info.version)} · <a href="/api/openapi.json">OpenAPI document</a></p>
<p>${escapeHtml(doc.info.description ?? '')}</p>
${authentication ? `<h2>Authentication</h2>${authentication}` : ''}
<nav><ul>${nav}</ul></nav>
${sections}
</body>
</html>
`;
}
