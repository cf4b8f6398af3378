// A small parser for the proto3 files in spec/livekit: enough of the language to learn every
// message, field, enum, oneof, map and service the LiveKit stand-in and its contract checker
// need. Pure (no fs), so the Node script that writes proto-schema.json and the workerd test
// that checks it is current run the same code.
//
// Understood: syntax/package/import/option lines, messages (nested), enums (nested), oneofs,
// `repeated`, `optional`, `map<K, V>`, field options (`deprecated`, and LiveKit's
// `(logger.sensitivity) = SENSITIVITY_SECRET`), `reserved`, services and rpcs.
// Not understood (not used in these files): `extend`, groups, proto2 `required`.

export type Label = "singular" | "optional" | "repeated";

export interface FieldSchema {
  number: number;
  /** A scalar name (`string`, `int64`...) or a fully qualified message/enum name. */
  type: string;
  label: Label;
  /** protojson's lowerCamelCase name, which parsers also accept. */
  json_name: string;
  /** For `map<K, V>` fields: `type` is then V and `label` is "repeated". */
  map_key?: string;
  oneof?: string;
  deprecated?: true;
  /** `(logger.sensitivity) = SENSITIVITY_SECRET`: never to be logged. */
  secret?: true;
}

export interface MessageSchema {
  fields: Record<string, FieldSchema>;
  /** Real oneofs only (not the synthetic ones of proto3 `optional`). */
  oneofs: Record<string, string[]>;
  deprecated?: true;
}

export interface EnumSchema {
  values: Record<string, number>;
}

export interface MethodSchema {
  input: string;
  output: string;
  deprecated?: true;
}

export interface ProtoSchema {
  /** The files the schema was built from, in the order given. */
  files: string[];
  messages: Record<string, MessageSchema>;
  enums: Record<string, EnumSchema>;
  services: Record<string, Record<string, MethodSchema>>;
  /** Types the files use but do not define (their own imports, not vendored). */
  unresolved: string[];
}

export const SCALAR_TYPES = new Set([
  "double",
  "float",
  "int32",
  "int64",
  "uint32",
  "uint64",
  "sint32",
  "sint64",
  "fixed32",
  "fixed64",
  "sfixed32",
  "sfixed64",
  "bool",
  "string",
  "bytes",
]);

/** Well-known types with their own JSON forms (see proto-json.ts). */
export const WELL_KNOWN_TYPES = new Set([
  "google.protobuf.Timestamp",
  "google.protobuf.Duration",
  "google.protobuf.Any",
]);

// ---- Tokens --------------------------------------------------------------------------------

type Token =
  | { kind: "ident"; text: string; line: number }
  | { kind: "number"; text: string; line: number }
  | { kind: "string"; text: string; line: number }
  | { kind: "symbol"; text: string; line: number };

function tokenize(source: string, file: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  while (i < source.length) {
    const char = source[i] as string;
    if (char === "\n") {
      line++;
      i++;
    } else if (/\s/.test(char)) {
      i++;
    } else if (source.startsWith("//", i)) {
      while (i < source.length && source[i] !== "\n") i++;
    } else if (source.startsWith("/*", i)) {
      const end = source.indexOf("*/", i + 2);
      if (end < 0) throw new Error(`${file}:${line}: unterminated comment`);
      line += source.slice(i, end).split("\n").length - 1;
      i = end + 2;
    } else if (char === '"' || char === "'") {
      let text = "";
      i++;
      while (i < source.length && source[i] !== char) {
        if (source[i] === "\\") i++;
        text += source[i];
        i++;
      }
      if (i >= source.length) throw new Error(`${file}:${line}: unterminated string`);
      i++;
      tokens.push({ kind: "string", text, line });
    } else if (/[A-Za-z_]/.test(char)) {
      const match = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(source.slice(i));
      const text = match?.[0] ?? char;
      tokens.push({ kind: "ident", text, line });
      i += text.length;
    } else if (/[0-9-]/.test(char)) {
      const match = /^-?(0x[0-9A-Fa-f]+|[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?)/.exec(source.slice(i));
      if (!match) throw new Error(`${file}:${line}: unexpected ${JSON.stringify(char)}`);
      tokens.push({ kind: "number", text: match[0], line });
      i += match[0].length;
    } else if ("{}()[]<>;=,.:".includes(char)) {
      tokens.push({ kind: "symbol", text: char, line });
      i++;
    } else {
      throw new Error(`${file}:${line}: unexpected ${JSON.stringify(char)}`);
    }
  }
  return tokens;
}

// ---- Parser --------------------------------------------------------------------------------

interface RawField {
  name: string;
  number: number;
  typeRef: string;
  label: Label;
  mapKey?: string;
  oneof?: string;
  options: Record<string, string>;
}

interface RawMessage {
  fullName: string;
  fields: RawField[];
  oneofs: Record<string, string[]>;
  deprecated: boolean;
  /** The scope names are resolved in: this message's full name. */
}

interface RawService {
  fullName: string;
  methods: Record<string, { input: string; output: string; deprecated: boolean }>;
}

interface FileResult {
  pkg: string;
  messages: RawMessage[];
  enums: Record<string, EnumSchema>;
  services: RawService[];
}

class Parser {
  #tokens: Token[];
  #at = 0;
  readonly #file: string;

  constructor(tokens: Token[], file: string) {
    this.#tokens = tokens;
    this.#file = file;
  }

  #peek(offset = 0): Token | undefined {
    return this.#tokens[this.#at + offset];
  }

  #fail(message: string): never {
    const token = this.#peek();
    const where = token ? `${token.line}` : "end";
    throw new Error(`${this.#file}:${where}: ${message}`);
  }

  #next(): Token {
    const token = this.#peek();
    if (!token) this.#fail("unexpected end of file");
    this.#at++;
    return token;
  }

  #is(text: string): boolean {
    const token = this.#peek();
    return token !== undefined && token.kind !== "string" && token.text === text;
  }

  #expect(text: string): void {
    const token = this.#next();
    if (token.kind === "string" || token.text !== text) {
      this.#at--;
      this.#fail(`expected ${JSON.stringify(text)}, found ${JSON.stringify(token.text)}`);
    }
  }

  #ident(): string {
    const token = this.#next();
    if (token.kind !== "ident") {
      this.#at--;
      this.#fail(`expected a name, found ${JSON.stringify(token.text)}`);
    }
    return token.text;
  }

  #integer(): number {
    const token = this.#next();
    if (token.kind !== "number") {
      this.#at--;
      this.#fail(`expected a number, found ${JSON.stringify(token.text)}`);
    }
    return Number(token.text);
  }

  /** Skips a balanced `{...}` block (option values written as message literals). */
  #skipBlock(): void {
    this.#expect("{");
    let depth = 1;
    while (depth > 0) {
      const token = this.#next();
      if (token.kind === "symbol" && token.text === "{") depth++;
      if (token.kind === "symbol" && token.text === "}") depth--;
    }
  }

  /** An option name: `deprecated`, `(logger.sensitivity)`, `(a.b).c`. */
  #optionName(): string {
    let name = "";
    if (this.#is("(")) {
      this.#expect("(");
      name = `(${this.#ident()})`;
      this.#expect(")");
    } else {
      name = this.#ident();
    }
    while (this.#is(".")) {
      this.#expect(".");
      name += `.${this.#ident()}`;
    }
    // A name like `(a).b` tokenizes its tail as ".b" inside the identifier; nothing more to do.
    return name;
  }

  #optionValue(): string {
    if (this.#is("{")) {
      this.#skipBlock();
      return "{}";
    }
    return this.#next().text;
  }

  /** `option x = y;` at file, message, enum, service or rpc level. */
  #optionStatement(): [string, string] {
    this.#expect("option");
    const name = this.#optionName();
    this.#expect("=");
    const value = this.#optionValue();
    this.#expect(";");
    return [name, value];
  }

  /** `[a = b, (c) = d]` after a field or enum value; absent → {}. */
  #fieldOptions(): Record<string, string> {
    const options: Record<string, string> = {};
    if (!this.#is("[")) return options;
    this.#expect("[");
    for (;;) {
      const name = this.#optionName();
      this.#expect("=");
      options[name] = this.#optionValue();
      if (this.#is(",")) {
        this.#expect(",");
        continue;
      }
      break;
    }
    this.#expect("]");
    return options;
  }

  parseFile(): FileResult {
    const result: FileResult = { pkg: "", messages: [], enums: {}, services: [] };
    while (this.#peek()) {
      if (this.#is(";")) {
        this.#next();
      } else if (this.#is("syntax") || this.#is("edition")) {
        this.#next();
        this.#expect("=");
        const syntax = this.#next().text;
        if (syntax !== "proto3") this.#fail(`only proto3 is supported, not ${syntax}`);
        this.#expect(";");
      } else if (this.#is("package")) {
        this.#next();
        result.pkg = this.#ident();
        this.#expect(";");
      } else if (this.#is("import")) {
        this.#next();
        if (this.#is("public") || this.#is("weak")) this.#next();
        this.#next();
        this.#expect(";");
      } else if (this.#is("option")) {
        this.#optionStatement();
      } else if (this.#is("message")) {
        this.#message(result.pkg, result);
      } else if (this.#is("enum")) {
        this.#enum(result.pkg, result);
      } else if (this.#is("service")) {
        result.services.push(this.#service(result.pkg));
      } else {
        this.#fail(`unexpected ${JSON.stringify(this.#peek()?.text)}`);
      }
    }
    return result;
  }

  #message(scope: string, result: FileResult): void {
    this.#expect("message");
    const fullName = `${scope}.${this.#ident()}`;
    const message: RawMessage = { fullName, fields: [], oneofs: {}, deprecated: false };
    result.messages.push(message);
    this.#expect("{");
    while (!this.#is("}")) {
      if (this.#is(";")) {
        this.#next();
      } else if (this.#is("option")) {
        const [name, value] = this.#optionStatement();
        if (name === "deprecated" && value === "true") message.deprecated = true;
      } else if (this.#is("message")) {
        this.#message(fullName, result);
      } else if (this.#is("enum")) {
        this.#enum(fullName, result);
      } else if (this.#is("reserved")) {
        while (!this.#is(";")) this.#next();
        this.#expect(";");
      } else if (this.#is("oneof")) {
        this.#next();
        const oneofName = this.#ident();
        const members: string[] = [];
        this.#expect("{");
        while (!this.#is("}")) {
          if (this.#is("option")) {
            this.#optionStatement();
            continue;
          }
          if (this.#is(";")) {
            this.#next();
            continue;
          }
          const field = this.#field("singular");
          field.oneof = oneofName;
          members.push(field.name);
          message.fields.push(field);
        }
        this.#expect("}");
        message.oneofs[oneofName] = members;
      } else if (this.#is("map") && this.#peek(1)?.text === "<") {
        this.#next();
        this.#expect("<");
        const keyType = this.#ident();
        this.#expect(",");
        const valueType = this.#ident();
        this.#expect(">");
        const name = this.#ident();
        this.#expect("=");
        const number = this.#integer();
        const options = this.#fieldOptions();
        this.#expect(";");
        message.fields.push({
          name,
          number,
          typeRef: valueType,
          label: "repeated",
          mapKey: keyType,
          options,
        });
      } else {
        let label: Label = "singular";
        if (this.#is("repeated")) {
          this.#next();
          label = "repeated";
        } else if (this.#is("optional")) {
          this.#next();
          label = "optional";
        } else if (this.#is("required")) {
          this.#fail("proto2 `required` is not supported");
        }
        message.fields.push(this.#field(label));
      }
    }
    this.#expect("}");
  }

  #field(label: Label): RawField {
    const typeRef = this.#ident();
    const name = this.#ident();
    this.#expect("=");
    const number = this.#integer();
    const options = this.#fieldOptions();
    this.#expect(";");
    return { name, number, typeRef, label, options };
  }

  #enum(scope: string, result: FileResult): void {
    this.#expect("enum");
    const fullName = `${scope}.${this.#ident()}`;
    const values: Record<string, number> = {};
    this.#expect("{");
    while (!this.#is("}")) {
      if (this.#is(";")) {
        this.#next();
      } else if (this.#is("option")) {
        this.#optionStatement();
      } else if (this.#is("reserved")) {
        while (!this.#is(";")) this.#next();
        this.#expect(";");
      } else {
        const name = this.#ident();
        this.#expect("=");
        values[name] = this.#integer();
        this.#fieldOptions();
        this.#expect(";");
      }
    }
    this.#expect("}");
    result.enums[fullName] = { values };
  }

  #service(scope: string): RawService {
    this.#expect("service");
    const fullName = `${scope}.${this.#ident()}`;
    const service: RawService = { fullName, methods: {} };
    this.#expect("{");
    while (!this.#is("}")) {
      if (this.#is(";")) {
        this.#next();
        continue;
      }
      if (this.#is("option")) {
        this.#optionStatement();
        continue;
      }
      this.#expect("rpc");
      const name = this.#ident();
      this.#expect("(");
      if (this.#is("stream")) this.#fail("streaming rpcs are not supported");
      const input = this.#ident();
      this.#expect(")");
      this.#expect("returns");
      this.#expect("(");
      if (this.#is("stream")) this.#fail("streaming rpcs are not supported");
      const output = this.#ident();
      this.#expect(")");
      let deprecated = false;
      if (this.#is("{")) {
        this.#expect("{");
        while (!this.#is("}")) {
          if (this.#is(";")) {
            this.#next();
            continue;
          }
          const [option, value] = this.#optionStatement();
          if (option === "deprecated" && value === "true") deprecated = true;
        }
        this.#expect("}");
      }
      if (this.#is(";")) this.#next();
      service.methods[name] = { input, output, deprecated };
    }
    this.#expect("}");
    return service;
  }
}

// ---- Resolution ----------------------------------------------------------------------------

/** protoc's JSON name: underscores dropped, the letter after each one upper-cased. */
export function jsonName(fieldName: string): string {
  return fieldName.replace(/_([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
}

/**
 * Resolves `ref` as protoc does: from the innermost scope outwards (`a.b.C` looks in `a.b.C.`,
 * `a.b.`, `a.`, then the root). A name no file defines resolves to the package-level guess and
 * is reported as unresolved.
 */
function resolve(
  ref: string,
  scope: string,
  known: Set<string>,
  unresolved: Set<string>,
  pkg: string,
): string {
  if (SCALAR_TYPES.has(ref)) return ref;
  if (ref.startsWith(".")) return ref.slice(1);
  if (WELL_KNOWN_TYPES.has(ref)) return ref;
  const parts = scope.split(".");
  for (let depth = parts.length; depth >= 0; depth--) {
    const candidate = [...parts.slice(0, depth), ref].join(".");
    if (known.has(candidate)) return candidate;
  }
  if (known.has(ref)) return ref;
  const guess = ref.startsWith("google.") ? ref : `${pkg}.${ref}`;
  unresolved.add(guess);
  return guess;
}

const SENSITIVITY_OPTION = "(logger.sensitivity)";

/** Parses proto3 files (name → text) into one schema; later files may use earlier ones' types. */
export function parseProtoFiles(files: Record<string, string>): ProtoSchema {
  const parsed = Object.entries(files).map(([name, text]) => ({
    name,
    result: new Parser(tokenize(text, name), name).parseFile(),
  }));
  const known = new Set<string>();
  for (const { result } of parsed) {
    for (const message of result.messages) known.add(message.fullName);
    for (const enumName of Object.keys(result.enums)) known.add(enumName);
  }
  const unresolved = new Set<string>();
  const schema: ProtoSchema = {
    files: Object.keys(files),
    messages: {},
    enums: {},
    services: {},
    unresolved: [],
  };
  for (const { result } of parsed) {
    for (const [name, enumSchema] of Object.entries(result.enums)) schema.enums[name] = enumSchema;
    for (const message of result.messages) {
      const fields: Record<string, FieldSchema> = {};
      for (const raw of message.fields) {
        const field: FieldSchema = {
          number: raw.number,
          type: resolve(raw.typeRef, message.fullName, known, unresolved, result.pkg),
          label: raw.label,
          json_name: jsonName(raw.name),
        };
        if (raw.mapKey !== undefined) field.map_key = raw.mapKey;
        if (raw.oneof !== undefined) field.oneof = raw.oneof;
        if (raw.options.deprecated === "true") field.deprecated = true;
        if (raw.options[SENSITIVITY_OPTION] === "SENSITIVITY_SECRET") field.secret = true;
        fields[raw.name] = field;
      }
      const out: MessageSchema = { fields, oneofs: message.oneofs };
      if (message.deprecated) out.deprecated = true;
      schema.messages[message.fullName] = out;
    }
    for (const service of result.services) {
      const methods: Record<string, MethodSchema> = {};
      for (const [name, method] of Object.entries(service.methods)) {
        const out: MethodSchema = {
          input: resolve(method.input, result.pkg, known, unresolved, result.pkg),
          output: resolve(method.output, result.pkg, known, unresolved, result.pkg),
        };
        if (method.deprecated) out.deprecated = true;
        methods[name] = out;
      }
      schema.services[service.fullName] = methods;
    }
  }
  schema.unresolved = [...unresolved].sort();
  return schema;
}
