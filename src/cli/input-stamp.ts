/**
 * Change stamps of input files, so that a cache or an earlier results file is not reused for a case
 * whose image or mask has changed since. A file's stamp is its size and modification time; a folder
 * (a DICOM series) is stamped by the number, total size and latest modification time of the files
 * below it. Replacing a file by another one of the same size within the same millisecond is not
 * detected.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

interface FolderTotals {
  files: number;
  bytes: number;
  latestMs: number;
}

async function addFolder(path: string, totals: FolderTotals): Promise<void> {
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) {
      await addFolder(child, totals);
    } else if (entry.isFile()) {
      const info = await stat(child);
      totals.files++;
      totals.bytes += info.size;
      totals.latestMs = Math.max(totals.latestMs, info.mtimeMs);
    }
  }
}

/** Returns the stamp of a file or folder, or "missing" when it cannot be read. */
export async function inputStamp(path: string): Promise<string> {
  const info = await stat(path).catch(() => null);
  if (info === null) return 'missing';
  if (!info.isDirectory()) return `${info.size}:${Math.trunc(info.mtimeMs)}`;
  const totals: FolderTotals = { files: 0, bytes: 0, latestMs: 0 };
  await addFolder(path, totals);
  return `${totals.files}f:${totals.bytes}:${Math.trunc(totals.latestMs)}`;
}

/** Returns the latest modification time in ms of a file, or of any file below a folder; 0 if missing. */
export async function latestModificationMs(path: string): Promise<number> {
  const info = await stat(path).catch(() => null);
  if (info === null) return 0;
  if (!info.isDirectory()) return info.mtimeMs;
  const totals: FolderTotals = { files: 0, bytes: 0, latestMs: 0 };
  await addFolder(path, totals);
  return totals.latestMs;
}
