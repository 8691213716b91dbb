using System.Collections.Concurrent;
using System.Data.Common;
using System.Text;
using CallMedia.Data;
using Dapper;

namespace CallMedia.Calls;

/// <summary>A couple as read: set once (the copies <see cref="CallStore"/> keeps are shared by every request).</summary>
public sealed class Couple
{
    public long Id { get; init; }

    public string Sid { get; init; } = "";

    public long StartAt { get; init; }

    public long StopAt { get; init; }

    public string CallingNumber { get; init; } = "";

    public string CallingName { get; init; } = "";

    public string CalledNumber { get; init; } = "";

    public string CalledName { get; init; } = "";

    public long Types { get; init; }

    /// <summary>The media type bits whose files the retention purge deleted (0: none); the couple stays as a tombstone.</summary>
    public long PurgedTypes { get; init; }

    public DateTimeOffset Start => DateTimeOffset.FromUnixTimeMilliseconds(StartAt);

    public DateTimeOffset Stop => DateTimeOffset.FromUnixTimeMilliseconds(StopAt);
}

/// <summary>A media file as read: set once, shared like <see cref="Couple"/>.</summary>
public sealed class MediaFile
{
    public long Id { get; init; }

    public long CoupleId { get; init; }

    public long Type { get; init; }

    /// <summary>Relative to the media root, or absolute for files linked in place.</summary>
    public string Path { get; init; } = "";

    /// <summary>The file's extension without the dot, lower case: mp3, wav, mp4, recd.</summary>
    public string Format { get; init; } = "";

    public long Size { get; init; }

    public long Crc32 { get; init; }

    public long StartAt { get; init; }

    public long StopAt { get; init; }
}

/// <summary>Filters for listing couples; every filter is optional.</summary>
public sealed record CoupleFilter(DateTimeOffset? From = null, DateTimeOffset? To = null, string? Number = null, string? Sid = null, int Limit = 1000);

/// <summary>Couples and their media files.</summary>
public sealed class CallStore(Database db)
{
    private const string CoupleColumns = "id, sid, start_at, stop_at, calling_number, calling_name, called_number, called_name, types, purged_types";

    /// <summary>A row of <see cref="CoupleColumns"/> (by position: these reads run for every token and delivery).</summary>
    private static Couple ReadCouple(DbDataReader r) => new()
    {
        Id = r.GetInt64(0),
        Sid = r.GetString(1),
        StartAt = r.GetInt64(2),
        StopAt = r.GetInt64(3),
        CallingNumber = r.GetString(4),
        CallingName = r.GetString(5),
        CalledNumber = r.GetString(6),
        CalledName = r.GetString(7),
        Types = r.GetInt64(8),
        PurgedTypes = r.GetInt64(9),
    };

    /// <summary>Couples by id, in chunks small enough for every engine's parameter limit.</summary>
    public async Task<IReadOnlyDictionary<long, Couple>> GetCouplesAsync(IReadOnlyCollection<long> ids, CancellationToken ct = default)
    {
        var found = new Dictionary<long, Couple>(ids.Count);
        foreach (var c in await ByIdsAsync(CoupleColumns, "couples", "id", ids, ReadCouple, ct))
        {
            found[c.Id] = c;
        }

        return found;
    }

    /// <summary>
    /// Rows of <paramref name="table"/> whose <paramref name="column"/> is among <paramref name="ids"/>, read in chunks
    /// of 500 on a connection that keeps its compiled statements (<see cref="Database.ReadKeptAsync"/>): these reads
    /// run for every token issued and every delivery.
    /// </summary>
    private Task<List<T>> ByIdsAsync<T>(string columns, string table, string column, IReadOnlyCollection<long> ids, Func<DbDataReader, T> read, CancellationToken ct) =>
        db.ReadKeptAsync(
            async connection =>
            {
                var rows = new List<T>(ids.Count);
                foreach (var chunk in ids.Chunk(500))
                {
                    await StatementPipeline.RunAsync(
                        connection,
                        null,
                        [db.SelectByIds(columns, table, column, chunk)],
                        (_, reader) =>
                        {
                            while (reader.Read())
                            {
                                rows.Add(read(reader));
                            }

                            return Task.CompletedTask;
                        });
                }

                return rows;
            },
            ct);

    public async Task<long?> FindIdBySidAsync(string sid, CancellationToken ct = default)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.ExecuteScalarAsync<long?>("SELECT id FROM couples WHERE sid = @sid", new { sid });
    }

    /// <summary>Media files of the given couples, ordered by couple, type, start and id (the order of a zip).</summary>
    public async Task<ILookup<long, MediaFile>> GetFilesAsync(IReadOnlyCollection<long> coupleIds, CancellationToken ct = default) =>
        InZipOrder(await ByIdsAsync(FileColumns, "media_files", "couple_id", coupleIds, ReadFile, ct));

    /// <summary>
    /// <see cref="GetCouplesAsync"/> and <see cref="GetFilesAsync"/> together, as a delivery needs them: one pipeline
    /// for both (on PostgreSQL one round trip, the delivery path's reads being its latency there); more ids than one
    /// chunk holds, the two reads.
    /// </summary>
    public async Task<(IReadOnlyDictionary<long, Couple> Couples, ILookup<long, MediaFile> Files)> GetCouplesWithFilesAsync(
        IReadOnlyCollection<long> ids, CancellationToken ct = default)
    {
        if (CouplesWithFilesRead(ids) is not { } read)
        {
            return (await GetCouplesAsync(ids, ct), await GetFilesAsync(ids, ct));
        }

        return await db.ReadKeptAsync(
            async connection =>
            {
                await StatementPipeline.RunAsync(connection, null, read.Statements, read.ReadAsync);
                return read.Result;
            },
            ct);
    }

    /// <summary>
    /// The read of <see cref="GetCouplesWithFilesAsync"/> as statements to send in another pipeline (the redeeming
    /// transaction's: on PostgreSQL a redemption costs no round trip of its own for them, on SQLite they run on the
    /// group's connection with its statements kept compiled); null when the ids need more than one chunk.
    /// </summary>
    public CouplesWithFiles? CouplesWithFilesRead(IReadOnlyCollection<long> ids) =>
        ids.Count <= 500 ? new CouplesWithFiles(db, ids.Distinct().ToArray(), _copies) : null;

    /// <summary>Couples kept at most in <see cref="CouplesWithFiles"/>' copies; past that they start again empty.</summary>
    public const int MaxCopies = 100_000;

    /// <summary>Couples and their files as read at a <see cref="MediaVersion"/>, shared by every request: never changed once here.</summary>
    private readonly ConcurrentDictionary<long, (long Version, Couple Couple, MediaFile[] Files)> _copies = new();

    /// <summary>
    /// Couples and their media files read in one pipeline (<see cref="CouplesWithFilesRead"/>). Inside a transaction
    /// that has read the <see cref="MediaVersion"/> (the group commit's), the copies first: when every
    /// couple was read at that very version, the copies are the rows, exactly, and nothing is read (<see cref="KnownAt"/>).
    /// </summary>
    public sealed class CouplesWithFiles(Database db, long[] ids, ConcurrentDictionary<long, (long Version, Couple Couple, MediaFile[] Files)> copies) : PipelinedRead
    {
        private readonly Dictionary<long, Couple> _couples = new(ids.Length);
        private readonly List<MediaFile> _files = [];
        private long? _version;

        /// <summary>Made when they are to run: a group commit usually finds every couple among the copies and runs none.</summary>
        public override IReadOnlyList<Statement> Statements => field ??=
        [
            db.SelectByIds(CoupleColumns, "couples", "id", ids),
            db.SelectByIds(FileColumns, "media_files", "couple_id", ids),
        ];

        public (IReadOnlyDictionary<long, Couple> Couples, ILookup<long, MediaFile> Files) Result => (_couples, InZipOrder(_files));

        /// <summary>
        /// The counter as this transaction read it, before this read: done from the copies when each couple has one of
        /// that version (true; nothing to run); otherwise the statements run and what they read is kept as of it.
        /// </summary>
        public override bool KnownAt(long mediaVersion)
        {
            _version = mediaVersion;
            foreach (var id in ids)
            {
                if (!copies.TryGetValue(id, out var copy) || copy.Version != mediaVersion)
                {
                    return false;
                }
            }

            foreach (var id in ids)
            {
                var copy = copies[id];
                _couples[id] = copy.Couple;
                _files.AddRange(copy.Files);
            }

            Finish();
            return true;
        }

        protected override Task ReadResultAsync(int index, DbDataReader reader)
        {
            while (reader.Read())
            {
                if (index == 0)
                {
                    var c = ReadCouple(reader);
                    _couples[c.Id] = c;
                }
                else
                {
                    _files.Add(ReadFile(reader));
                }
            }

            if (index == 1 && _version is { } version)
            {
                Keep(version);
            }

            return Task.CompletedTask;
        }

        /// <summary>Keeps each couple read (one that does not exist is not kept: the next read looks again).</summary>
        private void Keep(long version)
        {
            if (copies.Count >= MaxCopies)
            {
                copies.Clear();
            }

            var files = _files.ToLookup(f => f.CoupleId);
            foreach (var (id, couple) in _couples)
            {
                copies[id] = (version, couple, files[id].ToArray());
            }
        }
    }

    private const string FileColumns = "id, couple_id, type, path, format, size, crc32, start_at, stop_at";

    private static MediaFile ReadFile(DbDataReader r) => new()
    {
        Id = r.GetInt64(0),
        CoupleId = r.GetInt64(1),
        Type = r.GetInt64(2),
        Path = r.GetString(3),
        Format = r.GetString(4),
        Size = r.GetInt64(5),
        Crc32 = r.GetInt64(6),
        StartAt = r.GetInt64(7),
        StopAt = r.GetInt64(8),
    };

    private static ILookup<long, MediaFile> InZipOrder(List<MediaFile> files) => files.Count <= 1
        ? files.ToLookup(f => f.CoupleId)
        : files.OrderBy(f => f.CoupleId).ThenBy(f => f.Type).ThenBy(f => f.StartAt).ThenBy(f => f.Id).ToLookup(f => f.CoupleId);

    public async Task<IReadOnlyList<Couple>> ListAsync(CoupleFilter filter, CancellationToken ct = default)
    {
        var sql = new StringBuilder($"SELECT {CoupleColumns} FROM couples WHERE 1 = 1");
        var args = new DynamicParameters();
        if (filter.From is { } from)
        {
            sql.Append(" AND start_at >= @from");
            args.Add("from", from.ToUnixTimeMilliseconds());
        }

        if (filter.To is { } to)
        {
            sql.Append(" AND start_at < @to");
            args.Add("to", to.ToUnixTimeMilliseconds());
        }

        if (filter.Number is { } number)
        {
            sql.Append(" AND (calling_number = @number OR called_number = @number)");
            args.Add("number", number);
        }

        if (filter.Sid is { } sid)
        {
            sql.Append(" AND sid = @sid");
            args.Add("sid", sid);
        }

        sql.Append(" ORDER BY start_at DESC, id DESC LIMIT @limit");
        args.Add("limit", filter.Limit);
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<Couple>(sql.ToString(), args)).ToList();
    }
}
