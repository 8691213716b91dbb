using System.IO.Hashing;
using CallMedia.Data;
using Dapper;
using Microsoft.Extensions.DependencyInjection;

namespace CallMedia.IntegrationTests.Infrastructure;

/// <summary>A media file to seed: linked in place (absolute path), with its real size and CRC-32.</summary>
public sealed record SeedFile(int Type, string Path, string Format, long Size, uint Crc32);

/// <summary>Seeds couples straight into the database, in one transaction, for tests that need thousands of them or huge files.</summary>
public static class TestData
{
    public static SeedFile FileOf(int type, string path)
    {
        using var stream = File.OpenRead(path);
        var crc = new Crc32();
        crc.Append(stream);
        return new SeedFile(type, path, System.IO.Path.GetExtension(path).TrimStart('.'), stream.Length, crc.GetCurrentHashAsUInt32());
    }

    /// <summary>Adds couples with the given files; returns their ids in order.</summary>
    public static Task<IReadOnlyList<long>> SeedAsync(this TestServer server, IEnumerable<IReadOnlyList<SeedFile>> couples) =>
        SeedAsync(server.Services.GetRequiredService<Database>(), couples);

    /// <summary>Adds couples to a database that no in-process server owns (a cluster's).</summary>
    public static async Task<IReadOnlyList<long>> SeedAsync(Database db, IEnumerable<IReadOnlyList<SeedFile>> couples)
    {
        await using var connection = await db.OpenAsync();
        await using var tx = await connection.BeginTransactionAsync();
        var ids = new List<long>();
        var start = new DateTimeOffset(2026, 10, 1, 9, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        foreach (var files in couples)
        {
            var sid = "seed-" + Guid.NewGuid().ToString("N");
            var types = files.Aggregate(0, (acc, f) => acc | f.Type);
            var id = await connection.ExecuteScalarAsync<long>(
                """
                INSERT INTO couples (sid, start_at, stop_at, calling_number, calling_name, called_number, called_name, types)
                VALUES (@sid, @start, @stop, '+15550100', 'Test Caller', '3001', 'Test Agent', @types) RETURNING id
                """,
                new { sid, start, stop = start + 60_000, types },
                tx);
            foreach (var f in files)
            {
                await connection.ExecuteAsync(
                    """
                    INSERT INTO media_files (couple_id, type, path, format, size, crc32, start_at, stop_at)
                    VALUES (@id, @Type, @Path, @Format, @Size, @crc, @start, @stop)
                    """,
                    new { id, f.Type, f.Path, f.Format, f.Size, crc = (long)f.Crc32, start, stop = start + 60_000 },
                    tx);
            }

            ids.Add(id);
        }

        await tx.CommitAsync();
        return ids;
    }
}
