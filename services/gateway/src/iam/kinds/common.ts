import { Causes, Json, checkTypeMeta, isObject, serverMetadata, validateMetadata } from '../../resources/validation';

/** The start of every IAM kind's validation: the body is an object, its type meta fits, its metadata is checked. */
export function beginValidation(obj: unknown, apiVersion: string, kind: string, old: Json | undefined, options: { generatedName?: boolean } = {}) {
  const causes = new Causes();
  const body: Json = isObject(obj) ? obj : {};
  if (!isObject(obj)) causes.invalid('body', obj, `must be a ${kind} object`);
  checkTypeMeta(body, apiVersion, kind, causes);
  const metadata = validateMetadata(body.metadata, causes, old ? 'update' : 'create', { generatedName: options.generatedName && !old });
  if (old) {
    // On update the name is the stored one (the layer has checked it against the URL).
    const stored = isObject(old.metadata) ? old.metadata : {};
    metadata.name = stored.name;
    Object.assign(metadata, { ...serverMetadata(old), resourceVersion: metadata.resourceVersion ?? stored.resourceVersion });
  }
  const name = typeof metadata.name === 'string' ? metadata.name : undefined;
  return { causes, body, metadata, name };
}

export const specOf = (body: Json): Json => (isObject(body.spec) ? body.spec : {});
export const statusOf = (body: Json): Json => (isObject(body.status) ? body.status : {});
