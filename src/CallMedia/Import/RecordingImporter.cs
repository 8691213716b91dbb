using System.IO.Hashing;
using CallMedia.Calls;
using CallMedia.Data;
using CallMedia.Storage;
using Dapper;

namespace CallMedia.Import;

/// <summary>One couple to bring in.</summary>
public sealed record CoupleSpec(
    string Sid,
    DateTimeOffset Start,
    DateTimeOffset Stop,
    string CallingNumber,
    string CallingName,
    string CalledNumber,
    string CalledName,
    long? CoupleId = null);

/// <summary>One media file of a couple, at a path outside the media root.</summary>
public sealed record FileSpec(int Type, string SourcePath, DateTimeOffset Start, DateTimeOffset Stop);

public enum ImportOutcome
{
    Added,
    Unchanged,
    Conflict,
}

/// <summary>
/// The one way recordings come in: each file is copied into the media root with its size and CRC-32 computed
/// in the same pass, then the couple and its files are stored in one transaction. Re-importing the same couple
/// changes nothing.
/// </summary>
public sealed class RecordingImporter(Database db, MediaRoot media)
{
    private const int CopyBufferSize = 1 << 20;

    public async Task<ImportOutcome> ImportAsync(CoupleSpec couple, IReadOnlyList<FileSpec> files, CancellationToken ct = default)
    {
        await using (var check = await db.OpenAsync(ct))
        {
            if (await check.ExecuteScalarAsync<long?>("SELECT id FROM couples WHERE sid = @Sid", new { couple.Sid }) is not null)
            {
                return ImportOutcome.Unchanged;
            }
        }

        var stored = new List<(FileSpec Spec, string RelativePath, string Format, long Size, uint Crc)>();
        try
        {
            for (var i = 0; i < files.Count; i++)
            {
                var spec = files[i];
                var format = FormatOf(spec);
                var relative = Path.Combine(
                    couple.Start.UtcDateTime.ToString("yyyy/MM/dd", System.Globalization.CultureInfo.InvariantCulture),
                    $"{SafeName(couple.Sid)}_{i + 1}.{format}");
                var (size, crc) = await CopyAsync(spec.SourcePath, media.Resolve(relative), ct);
                stored.Add((spec, relative, format, size, crc));
            }

            await using var connection = await db.OpenAsync(ct);
            await using var tx = await connection.BeginTransactionAsync(ct);
            var types = files.Aggregate(0, (acc, f) => acc | f.Type);
            var id = await connection.ExecuteScalarAsync<long>(
                couple.CoupleId is null
                    ? """
                      INSERT INTO couples (sid, start_at, stop_at, calling_number, calling_name, called_number, called_name, types)
                      VALUES (@Sid, @start, @stop, @CallingNumber, @CallingName, @CalledNumber, @CalledName, @types) RETURNING id
                      """
                    : """
                      INSERT INTO couples (id, sid, start_at, stop_at, calling_number, calling_name, called_number, called_name, types)
                      VALUES (@CoupleId, @Sid, @start, @stop, @CallingNumber, @CallingName, @CalledNumber, @CalledName, @types) RETURNING id
                      """,
                new
                {
                    couple.CoupleId,
                    couple.Sid,
                    start = couple.Start.ToUnixTimeMilliseconds(),
                    stop = couple.Stop.ToUnixTimeMilliseconds(),
                    couple.CallingNumber,
                    couple.CallingName,
                    couple.CalledNumber,
                    couple.CalledName,
                    types,
                },
                tx);
            foreach (var (spec, relative, format, size, crc) in stored)
            {
                await connection.ExecuteAsync(
                    """
                    INSERT INTO media_files (couple_id, type, path, format, size, crc32, start_at, stop_at)
                    VALUES (@id, @type, @relative, @format, @size, @crc, @start, @stop)
                    """,
                    new { id, type = spec.Type, relative, format, size, crc = (long)crc, start = spec.Start.ToUnixTimeMilliseconds(), stop = spec.Stop.ToUnixTimeMilliseconds() },
                    tx);
            }

            await tx.CommitAsync(ct);
            return ImportOutcome.Added;
        }
        catch
        {
            foreach (var s in stored)
            {
                File.Delete(media.Resolve(s.RelativePath));
            }

            throw;
        }
    }

    /// <summary>Copies a file through a temp name, hashing the bytes as they pass; returns size and CRC-32.</summary>
    public async Task<(long Size, uint Crc)> CopyAsync(string source, string destination, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
        var temp = media.NewTempPath("part");
        var crc = new Crc32();
        long size = 0;
        try
        {
            await using (var input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, CopyBufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan))
            await using (var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, CopyBufferSize, FileOptions.Asynchronous))
            {
                var buffer = new byte[CopyBufferSize];
                int read;
                while ((read = await input.ReadAsync(buffer, ct)) > 0)
                {
                    crc.Append(buffer.AsSpan(0, read));
                    await output.WriteAsync(buffer.AsMemory(0, read), ct);
                    size += read;
                }

                await output.FlushAsync(ct);
            }

            File.Move(temp, destination, overwrite: true);
            return (size, crc.GetCurrentHashAsUInt32());
        }
        finally
        {
            File.Delete(temp);
        }
    }

    private static string FormatOf(FileSpec spec)
    {
        if (spec.Type == MediaType.Recd)
        {
            return "recd";
        }

        var ext = Path.GetExtension(spec.SourcePath).TrimStart('.').ToLowerInvariant();
        return ext.Length is > 0 and <= 8 && ext.All(char.IsAsciiLetterOrDigit) ? ext : "bin";
    }

    private static string SafeName(string sid) =>
        new(sid.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray());
}
