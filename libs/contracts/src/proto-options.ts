import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** @grpc/proto-loader options every server and client uses; the generated types assume them. */
export const PROTO_LOADER_OPTIONS = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  arrays: true,
  objects: true,
  oneofs: true,
} as const;

let cachedRoot: string | undefined;

/** The proto/ folder: found by walking up from this file, so it works from sources and from dist/. */
export function protoRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = __dirname;
  for (;;) {
    if (existsSync(join(dir, 'proto', 'flotilla'))) return (cachedRoot = join(dir, 'proto'));
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the proto/ folder above ${__dirname}`);
    dir = parent;
  }
}

export function protoPath(file: string): string {
  return join(protoRoot(), file);
}
