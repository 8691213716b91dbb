using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using CallMedia.Calls;
using CallMedia.Data;
using CallMedia.Storage;
using Dapper;
using Microsoft.Extensions.Options;

namespace CallMedia.Import;

/// <summary>How far an import is.</summary>
public sealed record ImportProgress(int FilesDone, int FilesTotal, long BytesDone, long BytesTotal);

/// <summary>What an import did.</summary>
public sealed class ImportSummary
{
    public int CouplesAdded { get; set; }

    public int CouplesExtended { get; set; }

    public int CouplesUnchanged { get; set; }

    public int FilesAdded { get; set; }

    public int FilesUnchanged { get; set; }

    public long BytesAdded { get; set; }

    public List<ManifestError> Errors { get; } = [];

    public int CouplesRejected { get; set; }
}

/// <summary>
/// The one way recordings come in (API.md §8): a manifest's rows are grouped into couples by sid, every row of a
/// couple is checked before anything of it is stored, files are copied into the media root (or linked in place)
/// with size and CRC-32 computed in the same single read, and each batch of couples is stored in one transaction.
/// Re-running a manifest changes nothing; a file that changed since it was imported is reported, never overwritten.
/// </summary>
public sealed class ManifestImporter(Database db, MediaRoot media, IMediaStorage storage, IOptions<ImportOptions> settings, Media.MediaProbe probe)
{
    private sealed record PlannedFile(ManifestRow Row, long Size, long MTime);

    private sealed record PlannedCouple(string Sid, ManifestRow First, List<PlannedFile> Files);

    private sealed class Existing
    {
        public long Id { get; set; }

        public string Sid { get; set; } = "";

        public long PurgedTypes { get; set; }
    }

    private sealed class ExistingFile
    {
        public long CoupleId { get; set; }

        public string? SourcePath { get; set; }

        public long Size { get; set; }

        public long? SourceMtime { get; set; }
    }

    public async Task<ImportSummary> ImportAsync(string manifestPath, bool link, bool dryRun, IProgress<ImportProgress>? progress, CancellationToken ct)
    {
        if (link && settings.Value.AllowedRoots.Count == 0)
        {
            throw new InvalidDataException("--link needs Import:AllowedRoots: the server serves linked files only from those folders");
        }

        if (link && storage.EncryptsNewObjects)
        {
            throw new InvalidDataException("--link keeps files where they are, unencrypted; with Storage:Encryption=on, import copies instead");
        }

        if (!dryRun)
        {
            media.RemoveLeftovers();
        }

        var (rows, errors) = ManifestReader.Read(manifestPath);
        var summary = new ImportSummary();
        summary.Errors.AddRange(errors);
        var confinement = ImportConfinement.For(manifestPath, link, settings.Value.AllowedRoots, media, db);
        summary.Errors.AddRange(await CheckFormatsAsync(rows.Where(r => CheckFile(r.Path, confinement) is null), ct)); // a file not of its declared format rejects its couple
        var couples = Plan(rows, summary, confinement);
        var total = couples.Sum(c => c.Files.Count);
        var totalBytes = couples.Sum(c => c.Files.Sum(f => f.Size));
        var done = 0;
        long bytesDone = 0;
        foreach (var batch in couples.Chunk(settings.Value.BatchSize))
        {
            ct.ThrowIfCancellationRequested();
            await ImportBatchAsync(
                batch,
                link,
                dryRun,
                summary,
                (files, bytes) =>
                {
                    var f = Interlocked.Add(ref done, files);
                    var b = Interlocked.Add(ref bytesDone, bytes);
                    progress?.Report(new ImportProgress(f, total, b, totalBytes));
                },
                ct);
        }

        summary.Errors.Sort((a, b) => a.Line.CompareTo(b.Line));
        return summary;
    }

    /// <summary>Groups rows by sid and rejects every couple that has a bad row, a duplicate row or a file that cannot be used.</summary>
    private static List<PlannedCouple> Plan(List<ManifestRow> rows, ImportSummary summary, ImportConfinement confinement)
    {
        var badSids = summary.Errors.Where(e => e.Sid is not null).Select(e => e.Sid!).ToHashSet(StringComparer.Ordinal);
        var planned = new List<PlannedCouple>();
        foreach (var group in rows.GroupBy(r => r.Sid, StringComparer.Ordinal))
        {
            var first = group.First();
            var problems = new List<ManifestError>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var files = new List<PlannedFile>();
            foreach (var row in group)
            {
                if (!seen.Add(row.Path))
                {
                    problems.Add(new ManifestError(row.Line, row.Sid, $"duplicate row: {row.Path} is already listed for this sid"));
                    continue;
                }

                if (row.Start != first.Start || row.Stop != first.Stop || row.CallingNumber != first.CallingNumber || row.CalledNumber != first.CalledNumber
                    || row.CallingName != first.CallingName || row.CalledName != first.CalledName || row.CoupleId != first.CoupleId)
                {
                    problems.Add(new ManifestError(row.Line, row.Sid, $"couple fields differ from line {first.Line} of the same sid"));
                    continue;
                }

                var problem = CheckFile(row.Path, confinement);
                if (problem is not null)
                {
                    problems.Add(new ManifestError(row.Line, row.Sid, problem));
                    continue;
                }

                var info = new FileInfo(row.Path);
                files.Add(new PlannedFile(row, info.Length, info.LastWriteTimeUtc.Ticks));
            }

            if (problems.Count > 0 || badSids.Contains(group.Key))
            {
                summary.Errors.AddRange(problems);
                summary.CouplesRejected++;
                continue;
            }

            planned.Add(new PlannedCouple(group.Key, first, files));
        }

        // A couple all of whose rows failed to read has no group above; it is rejected all the same.
        summary.CouplesRejected += badSids.Except(rows.Select(r => r.Sid), StringComparer.Ordinal).Count();

        return planned;
    }

    private static string? CheckFile(string path, ImportConfinement confinement)
    {
        if (confinement.Check(path) is { } refused)
        {
            return refused;
        }

        return File.Exists(path) ? null : $"file not found: {path}";
    }

    private async Task ImportBatchAsync(PlannedCouple[] batch, bool link, bool dryRun, ImportSummary summary, Action<int, long> advanced, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        var sids = batch.Select(c => c.Sid).ToList();
        var found = (await connection.QueryAsync<Existing>($"SELECT id, sid, purged_types FROM couples WHERE {db.In("sid", "sids")}", new { sids = sids.ToArray() })).ToList();
        var existing = found.ToDictionary(e => e.Sid, e => e.Id, StringComparer.Ordinal);
        var purged = found.ToDictionary(e => e.Id, e => e.PurgedTypes);
        var existingIds = existing.Values.ToList();
        var existingFiles = (await connection.QueryAsync<ExistingFile>(
                $"SELECT couple_id, source_path, size, source_mtime FROM media_files WHERE {db.In("couple_id", "existingIds")}", new { existingIds = existingIds.ToArray() }))
            .Where(f => f.SourcePath is not null)
            .ToLookup(f => f.CoupleId);
        var requestedIds = batch.Where(c => c.First.CoupleId is not null && !existing.ContainsKey(c.Sid)).Select(c => c.First.CoupleId!.Value).ToList();
        var takenIds = (await connection.QueryAsync<long>($"SELECT id FROM couples WHERE {db.In("id", "requestedIds")}", new { requestedIds = requestedIds.ToArray() })).ToHashSet();

        // Decide per couple: new, extended with new files, unchanged, or in conflict.
        var work = new List<(PlannedCouple Couple, long? Id, List<PlannedFile> NewFiles)>();
        foreach (var couple in batch)
        {
            if (existing.TryGetValue(couple.Sid, out var id))
            {
                var known = existingFiles[id].ToDictionary(f => f.SourcePath!, StringComparer.Ordinal);
                var changed = couple.Files.Where(f => known.TryGetValue(f.Row.Path, out var k) && (k.Size != f.Size || k.SourceMtime != f.MTime)).ToList();
                if (changed.Count > 0)
                {
                    summary.Errors.AddRange(changed.Select(f => new ManifestError(f.Row.Line, couple.Sid, $"{f.Row.Path} changed since it was imported; not overwritten")));
                    summary.CouplesRejected++;
                    advanced(couple.Files.Count, 0);
                    continue;
                }

                // Media the retention purge deleted is not brought back by importing its manifest again.
                var fresh = couple.Files.Where(f => !known.ContainsKey(f.Row.Path) && (purged[id] & f.Row.Type) == 0).ToList();
                summary.FilesUnchanged += couple.Files.Count - fresh.Count;
                if (fresh.Count == 0)
                {
                    summary.CouplesUnchanged++;
                    advanced(couple.Files.Count, 0);
                    continue;
                }

                work.Add((couple, id, fresh));
            }
            else if (couple.First.CoupleId is { } wanted && takenIds.Contains(wanted))
            {
                summary.Errors.Add(new ManifestError(couple.First.Line, couple.Sid, $"couple_id {wanted} belongs to another sid"));
                summary.CouplesRejected++;
                advanced(couple.Files.Count, 0);
            }
            else
            {
                work.Add((couple, null, couple.Files));
            }
        }

        if (dryRun)
        {
            foreach (var (couple, id, files) in work)
            {
                Count(summary, id, files.Count, files.Sum(f => f.Size));
                advanced(couple.Files.Count, files.Sum(f => f.Size));
            }

            return;
        }

        // Copy (or hash in place) every new file of the batch, a few at a time, before one transaction stores them.
        var stored = new Dictionary<ManifestRow, (string StoredPath, long Size, uint Crc)>();
        var copies = work.SelectMany(w => w.NewFiles.Select(f => (w.Couple, File: f))).ToList();
        await Parallel.ForEachAsync(copies, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (item, token) =>
        {
            var (storedPath, size, crc) = await StoreFileAsync(item.Couple.Sid, item.File.Row, link, token);
            lock (stored)
            {
                stored[item.File.Row] = (storedPath, size, crc);
            }

            advanced(1, size);
        });

        await using var tx = await connection.BeginTransactionAsync(ct);
        foreach (var (couple, existingId, files) in work)
        {
            var types = files.Aggregate(0, (acc, f) => acc | f.Row.Type);
            var id = existingId ?? await InsertCoupleAsync(connection, tx, couple, types);
            foreach (var f in files)
            {
                var (storedPath, size, crc) = stored[f.Row];
                await CallWriter.InsertFileAsync(connection, tx, new NewMediaFile(
                    id, f.Row.Type, storedPath, FormatOf(f.Row), size, crc, f.Row.FileStart.ToUnixTimeMilliseconds(), f.Row.FileStop.ToUnixTimeMilliseconds(), f.Row.Path, f.MTime));
            }

            if (existingId is not null)
            {
                await CallWriter.AddTypesAsync(connection, tx, id, types);
            }

            Count(summary, existingId, files.Count, files.Sum(f => stored[f.Row].Size));
        }

        if (work.Any(w => w.Id is null && w.Couple.First.CoupleId is not null))
        {
            await db.AfterExplicitIdsAsync(connection, tx, "couples");
        }

        await tx.CommitAsync(ct);
    }

    private static void Count(ImportSummary summary, long? existingId, int files, long bytes)
    {
        if (existingId is null)
        {
            summary.CouplesAdded++;
        }
        else
        {
            summary.CouplesExtended++;
        }

        summary.FilesAdded += files;
        summary.BytesAdded += bytes;
    }

    private static Task<long> InsertCoupleAsync(DbConnection connection, DbTransaction tx, PlannedCouple couple, int types)
    {
        var c = couple.First;
        return CallWriter.InsertCoupleAsync(connection, tx, new NewCouple(c.CoupleId, c.Sid, c.Start, c.Stop, c.CallingNumber, c.CallingName, c.CalledNumber, c.CalledName), types);
    }

    /// <summary>Copies a file into the media root under a name fixed by its sid and source (so a re-run after a crash overwrites, never duplicates), or hashes it in place.</summary>
    private async Task<(string StoredPath, long Size, uint Crc)> StoreFileAsync(string sid, ManifestRow row, bool link, CancellationToken ct)
    {
        if (link)
        {
            var (size, crc) = await storage.HashAsync(row.Path, ct);
            return (row.Path, size, crc);
        }

        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(sid + "\n" + row.Path)))[..12].ToLowerInvariant();
        var relative = Path.Combine(
            row.Start.UtcDateTime.ToString("yyyy/MM/dd", System.Globalization.CultureInfo.InvariantCulture),
            $"{SafeName(sid)}-{key}.{FormatOf(row)}");
        var (copiedSize, copiedCrc) = await storage.StoreAsync(row.Path, relative, ct);
        return (relative, copiedSize, copiedCrc);
    }

    public static string FormatOf(ManifestRow row)
    {
        if (row.Type == Calls.MediaType.Recd)
        {
            return "recd";
        }

        var ext = Path.GetExtension(row.Path).TrimStart('.').ToLowerInvariant();
        return ext.Length is > 0 and <= 8 && ext.All(char.IsAsciiLetterOrDigit) ? ext : "bin";
    }

    private static string SafeName(string sid)
    {
        var safe = new string(sid.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray());
        return safe.Length > 80 ? safe[..80] : safe;
    }

    /// <summary>Probes the files of manifest rows (a few at a time); one error per row whose file is not of its declared format.</summary>
    private async Task<List<ManifestError>> CheckFormatsAsync(IEnumerable<ManifestRow> rows, CancellationToken ct)
    {
        var errors = new List<ManifestError>();
        await Parallel.ForEachAsync(rows, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = ct }, async (row, token) =>
        {
            var format = FormatOf(row);
            var check = await probe.ProbeFormatAsync(row.Path, format, token);
            if (!check.Matches)
            {
                lock (errors)
                {
                    errors.Add(new ManifestError(row.Line, row.Sid, $"{row.Path} is not a {format} file (ffprobe found {check.Found})"));
                }
            }
        });
        return errors;
    }
}
