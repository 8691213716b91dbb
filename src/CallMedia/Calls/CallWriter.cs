using System.Data.Common;
using Dapper;

namespace CallMedia.Calls;

/// <summary>A couple to insert; <see cref="Id"/> is set when the archive fixes it (explicit ids).</summary>
public sealed record NewCouple(long? Id, string Sid, DateTimeOffset Start, DateTimeOffset Stop, string CallingNumber, string CallingName, string CalledNumber, string CalledName);

/// <summary>A media file to store for a couple; <see cref="SourcePath"/> and <see cref="SourceMTime"/> are the import's idempotence key.</summary>
public sealed record NewMediaFile(long CoupleId, int Type, string Path, string Format, long Size, uint Crc, long StartAt, long StopAt, string? SourcePath = null, long? SourceMTime = null);

/// <summary>
/// The one writer of <c>couples</c> and <c>media_files</c>. Its methods run inside the caller's transaction, so an
/// import batch or a finished prepare job stores its rows together with its own bookkeeping.
/// </summary>
public static class CallWriter
{
    public static Task<long> InsertCoupleAsync(DbConnection connection, DbTransaction tx, NewCouple c, int types) =>
        connection.ExecuteScalarAsync<long>(
            c.Id is null
                ? """
                  INSERT INTO couples (sid, start_at, stop_at, calling_number, calling_name, called_number, called_name, types)
                  VALUES (@Sid, @start, @stop, @CallingNumber, @CallingName, @CalledNumber, @CalledName, @types) RETURNING id
                  """
                : """
                  INSERT INTO couples (id, sid, start_at, stop_at, calling_number, calling_name, called_number, called_name, types)
                  VALUES (@Id, @Sid, @start, @stop, @CallingNumber, @CallingName, @CalledNumber, @CalledName, @types) RETURNING id
                  """,
            new { c.Id, c.Sid, start = c.Start.ToUnixTimeMilliseconds(), stop = c.Stop.ToUnixTimeMilliseconds(), c.CallingNumber, c.CallingName, c.CalledNumber, c.CalledName, types },
            tx);

    /// <summary>Stores a file row; the couple's type bits are the caller's (<see cref="AddTypesAsync"/>), since a batch adds several files at once.</summary>
    public static Task InsertFileAsync(DbConnection connection, DbTransaction tx, NewMediaFile f) =>
        connection.ExecuteAsync(
            """
            INSERT INTO media_files (couple_id, type, path, format, size, crc32, start_at, stop_at, source_path, source_mtime)
            VALUES (@CoupleId, @Type, @Path, @Format, @Size, @crc, @StartAt, @StopAt, @SourcePath, @SourceMTime)
            """,
            new { f.CoupleId, f.Type, f.Path, f.Format, f.Size, crc = (long)f.Crc, f.StartAt, f.StopAt, f.SourcePath, f.SourceMTime },
            tx);

    /// <summary>Adds type bits to a couple (a couple keeps the OR of its files' types).</summary>
    public static Task AddTypesAsync(DbConnection connection, DbTransaction tx, long coupleId, int types) =>
        connection.ExecuteAsync("UPDATE couples SET types = types | @types WHERE id = @coupleId", new { coupleId, types }, tx);

    public static async Task<bool> HasFileOfTypeAsync(DbConnection connection, DbTransaction tx, long coupleId, int type) =>
        await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM media_files WHERE couple_id = @coupleId AND type = @type", new { coupleId, type }, tx) > 0;

    /// <summary>Stores the mixed video of a couple and sets its VIDEO bit.</summary>
    public static async Task AddPreparedVideoAsync(DbConnection connection, DbTransaction tx, long coupleId, string path, long size, uint crc, long startAt, long stopAt)
    {
        await InsertFileAsync(connection, tx, new NewMediaFile(coupleId, MediaType.Video, path, "mp4", size, crc, startAt, stopAt));
        await AddTypesAsync(connection, tx, coupleId, MediaType.Video);
    }

    /// <summary>
    /// Deletes the couple's file rows whose type is one of <paramref name="types"/> and keeps the couple as a tombstone:
    /// its type bits become those of the files left, and <c>purged_types</c> remembers what went (the <c>purged</c> status
    /// of a delivery). Runs inside the purge's transaction, which queues the returned files for deletion from storage.
    /// </summary>
    public static async Task<IReadOnlyList<MediaFile>> PurgeFilesAsync(DbConnection connection, DbTransaction tx, long coupleId, int types, long at)
    {
        var all = (await connection.QueryAsync<MediaFile>(
            "SELECT id, couple_id, type, path, format, size, crc32, start_at, stop_at FROM media_files WHERE couple_id = @coupleId", new { coupleId }, tx)).ToList();
        var gone = all.Where(f => (f.Type & types) != 0).ToList();
        if (gone.Count == 0)
        {
            return gone;
        }

        foreach (var f in gone)
        {
            await connection.ExecuteAsync("DELETE FROM media_files WHERE id = @Id", new { f.Id }, tx);
        }

        var left = all.Except(gone).Aggregate(0L, (bits, f) => bits | f.Type);
        var purged = gone.Aggregate(0L, (bits, f) => bits | f.Type);
        await connection.ExecuteAsync(
            "UPDATE couples SET types = @left, purged_types = purged_types | @purged, purged_at = @at WHERE id = @coupleId",
            new { coupleId, left, purged, at },
            tx);
        return gone;
    }

    /// <summary>Whether any file row still names this stored path (a path shared by two couples is deleted with the last).</summary>
    public static async Task<bool> IsPathReferencedAsync(DbConnection connection, DbTransaction? tx, string path) =>
        await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM media_files WHERE path = @path", new { path }, tx) > 0;
}
