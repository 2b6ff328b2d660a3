// A batch of events on its way to a component worker, packed into a few flat arrays: every
// attribute string of every event in one string, every payload in one byte array. Posting a
// thousand event records to a worker thread clones a thousand objects, twelve thousand values
// and as many buffers, which took longer than the component's own work; the packed batch is
// cloned as six values and unpacked in the worker into the records jco lowers (the `event`
// record of wit/factum.wit: src/wasm/generated holds its type).
//
// Plain JavaScript: the worker (component-worker.mjs) runs without a TypeScript loader.

/**
 * The record's string fields, in the order they are packed. Optional ones (`option<string>`)
 * carry a presence bit; required ones are always there. `revision` and `data` travel apart.
 */
const FIELDS = ['specversion', 'id', 'source', 'type', 'subject', 'time', 'datacontenttype', 'dataschema', 'recordedtime'];
const OPTIONAL = new Set(['subject', 'time', 'datacontenttype', 'dataschema']);
const bitOf = (field) => 1 << FIELDS.indexOf(field);
const SUBJECT_BIT = bitOf('subject');
const TIME_BIT = bitOf('time');
const DATACONTENTTYPE_BIT = bitOf('datacontenttype');
const DATASCHEMA_BIT = bitOf('dataschema');
/** Presence bit of the payload, after the fields' bits. */
const DATA_BIT = 1 << FIELDS.length;

/** The CloudEvents attributes that have their own field in the record: all others are extensions. */
const RECORD_ATTRIBUTES = new Set([...FIELDS, 'data', 'data_base64', 'revision']);

/** The record's `extensions`: every other attribute, by name, its value as text (JSON unless a string). */
export function extensionsOf(event) {
  const extensions = [];
  for (const name in event) {
    if (RECORD_ATTRIBUTES.has(name)) continue;
    const value = event[name];
    if (value !== undefined) extensions.push([name, typeof value === 'string' ? value : JSON.stringify(value)]);
  }
  return extensions;
}

/**
 * Packs stored events whose payloads are already known (`payloads[i]`: a string to write as
 * UTF-8, bytes, or undefined; `payloadBytes` their encoded size in all).
 */
export function packEvents(events, payloads, payloadBytes) {
  const count = events.length;
  const parts = [];
  // The end of each string in `text`; each event's strings follow the previous event's.
  const ends = [];
  const presence = new Uint16Array(count);
  const extensionCounts = new Uint32Array(count);
  const revisions = new Float64Array(count);
  const data = new Uint8Array(payloadBytes);
  const dataEnds = new Uint32Array(count);
  const dataBuffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let textLength = 0;
  let dataLength = 0;
  for (let i = 0; i < count; i++) {
    const event = events[i];
    let present = 0;
    for (let f = 0; f < FIELDS.length; f++) {
      const value = event[FIELDS[f]];
      if (value === undefined || value === null) {
        if (!OPTIONAL.has(FIELDS[f])) throw new TypeError(`event ${i} has no ${FIELDS[f]}`);
      } else {
        present |= 1 << f;
        parts.push(value);
        textLength += value.length;
      }
      ends.push(textLength);
    }
    const extensions = extensionsOf(event);
    for (const [name, text] of extensions) {
      parts.push(name, text);
      ends.push((textLength += name.length), (textLength += text.length));
    }
    const payload = payloads[i];
    if (payload !== undefined) {
      present |= DATA_BIT;
      dataLength += typeof payload === 'string' ? dataBuffer.write(payload, dataLength, 'utf8') : (data.set(payload, dataLength), payload.byteLength);
    }
    dataEnds[i] = dataLength;
    presence[i] = present;
    extensionCounts[i] = extensions.length;
    revisions[i] = event.revision;
  }
  return { count, text: parts.join(''), ends: Uint32Array.from(ends), presence, extensionCounts, revisions, data, dataEnds };
}

/** Whether a call argument is a packed batch. */
export function isPackedEvents(value) {
  return value !== null && typeof value === 'object' && typeof value.text === 'string' && value.ends instanceof Uint32Array && value.dataEnds instanceof Uint32Array;
}

/** The event records of a packed batch, as jco takes them. */
export function unpackEvents(batch) {
  const { count, text, ends, presence, extensionCounts, revisions, data, dataEnds } = batch;
  const records = new Array(count);
  let e = 0;
  let start = 0;
  let dataStart = 0;
  const next = () => text.slice(start, (start = ends[e++]));
  for (let i = 0; i < count; i++) {
    const present = presence[i];
    const specversion = next();
    const id = next();
    const source = next();
    const type = next();
    const subject = next();
    const time = next();
    const datacontenttype = next();
    const dataschema = next();
    const recordedtime = next();
    const extensions = new Array(extensionCounts[i]);
    for (let x = 0; x < extensions.length; x++) extensions[x] = [next(), next()];
    const dataEnd = dataEnds[i];
    records[i] = {
      specversion,
      id,
      source,
      type,
      subject: present & SUBJECT_BIT ? subject : undefined,
      time: present & TIME_BIT ? time : undefined,
      datacontenttype: present & DATACONTENTTYPE_BIT ? datacontenttype : undefined,
      dataschema: present & DATASCHEMA_BIT ? dataschema : undefined,
      data: present & DATA_BIT ? data.subarray(dataStart, dataEnd) : undefined,
      extensions,
      revision: BigInt(revisions[i]),
      recordedtime,
    };
    dataStart = dataEnd;
  }
  return records;
}
