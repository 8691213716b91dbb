using System.CommandLine;
using CallMedia.Data;
using CallMedia.Storage;
using Dapper;
using Microsoft.Extensions.Options;

namespace CallMedia.Cli;

/// <summary>
/// <c>callmedia storage migrate --to s3 [--delete-local]</c>: copies the media folder's recordings and videos into
/// the bucket of <c>Storage:S3</c>. Each object is uploaded from the local file (its CRC-32 computed on the way must be
/// the recorded one), then read back from the store and its size and CRC-32 checked against the database row; only
/// then does it count as moved, and only then, with <c>--delete-local</c>, is the local file deleted. The object key
/// is the stored path, so rows keep their paths: a node with <c>Storage:Kind=s3</c> reads each object from the bucket
/// once it is there and from the local folder until then. Resumable: a verified object is not uploaded again.
/// </summary>
public static class StorageMigrateCommand
{
    private sealed class Row
    {
        public long Id { get; set; }

        public string Path { get; set; } = "";

        public long Size { get; set; }

        public long Crc32 { get; set; }
    }

    public static Command Create(CliContext cli)
    {
        var to = new Option<string>("--to") { Description = "where to: s3 (the bucket of Storage:S3)", Required = true };
        var deleteLocal = CliContext.Flag("--delete-local", "delete each local file once its object is verified in the bucket");
        var migrate = CliContext.Verb("migrate", "copy the media folder into the object store, verifying each object's size and CRC-32 (resumable)", to, deleteLocal);
        cli.WithServices(migrate, (p, services, ct) => MigrateAsync(services, p.GetValue(to)!, p.GetValue(deleteLocal), cli.Console, ct));
        return migrate;
    }

    private static async Task<int> MigrateAsync(IServiceProvider services, string to, bool deleteLocal, CliConsole console, CancellationToken ct)
    {
        if (!string.Equals(to, "s3", StringComparison.OrdinalIgnoreCase))
        {
            throw new UsageException($"--to must be s3, not '{to}'");
        }

        var options = services.GetRequiredService<IOptions<StorageOptions>>().Value;
        if (S3Registration.Problem(new StorageOptions { Kind = "s3", S3 = options.S3 }) is { } problem)
        {
            throw new CliFailureException(problem);
        }

        var media = services.GetRequiredService<MediaRoot>();
        var local = services.GetRequiredService<LocalMediaStorage>();
        using var bucket = new MediaBucket(options.S3);
        var inputs = media.NewTempPath("inputs");
        var target = new S3MediaStorage(bucket, media, local, new S3InputCache(inputs, 0));
        List<Row> rows;
        await using (var connection = await services.GetRequiredService<Database>().OpenAsync(ct))
        {
            rows = (await connection.QueryAsync<Row>("SELECT id, path, size, crc32 FROM media_files ORDER BY id")).ToList();
        }

        int moved = 0, already = 0, linked = 0, missing = 0, encrypted = 0, refused = 0, deleted = 0;
        var errors = new Lock();
        try
        {
            // A few objects at a time: each is a handful of round trips (upload, HEAD, read back), so one at a time
            // would leave the store and the network mostly idle.
            await Parallel.ForEachAsync(rows, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = ct }, async (row, token) =>
            {
                if (target.KeyOf(row.Path) is not { } key)
                {
                    Interlocked.Increment(ref linked); // linked in place from an import folder: the operator's file stays where it is
                    return;
                }

                var expected = (row.Size, (uint)row.Crc32);
                var plain = local.PlainLocalPath(row.Path);
                try
                {
                    if (await target.HeadAsync(key, token) is { } there && there.Length == row.Size && await target.HashObjectAsync(key, token) == expected)
                    {
                        Interlocked.Increment(ref already);
                    }
                    else if (plain is null)
                    {
                        if (local.Exists(row.Path))
                        {
                            Interlocked.Increment(ref encrypted);
                            lock (errors)
                            {
                                console.Error.WriteLine($"storage migrate: media file {row.Id} is encrypted by CallMedia; objects in the bucket are plain (use the store's server-side encryption): left local");
                            }
                        }
                        else
                        {
                            Interlocked.Increment(ref missing);
                        }

                        return;
                    }
                    else
                    {
                        var sent = await target.UploadAsync(plain, key, token);
                        if (sent != expected)
                        {
                            await target.DeleteObjectAsync(key, token);
                            throw new InvalidDataException("the local file is not the recorded one (size or CRC-32 differ); not moved");
                        }

                        if (await target.HashObjectAsync(key, token) != expected)
                        {
                            throw new InvalidDataException("the object read back from the store differs from the recorded file; not moved");
                        }

                        Interlocked.Increment(ref moved);
                    }

                    // Verified in the bucket: only now may the local copy go.
                    if (deleteLocal && plain is not null)
                    {
                        File.Delete(plain);
                        Interlocked.Increment(ref deleted);
                    }
                }
                catch (InvalidDataException ex)
                {
                    Interlocked.Increment(ref refused);
                    lock (errors)
                    {
                        console.Error.WriteLine($"storage migrate: media file {row.Id}: {ex.Message}");
                    }
                }
            });
        }
        finally
        {
            Directory.Delete(inputs, recursive: true);
        }

        await console.Out.WriteLineAsync($"storage migrate: {moved} moved, {already} already in the bucket, {missing} missing, {linked} linked (left in place), {encrypted} encrypted (left local), {refused} not as recorded (left local), {deleted} local files deleted");
        await CliApp.AuditAdminAsync(services, $"admin.storage.migrate:{moved}", refused == 0 ? "ok" : "partial");
        return refused == 0 ? 0 : CliApp.Failed;
    }
}
