using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using CallMedia.Auth;
using CallMedia.Data;
using Dapper;

namespace CallMedia.Calls;

/// <summary>Which media a found couple must have: <c>unmixed</c> is a .recd capture not yet mixed into a video.</summary>
public enum MediaPresence
{
    Audio,
    Video,
    Unmixed,
}

/// <summary>
/// What to search for; every filter is optional. <see cref="Number"/> matches either party exactly, or as a prefix
/// when it ends in <c>*</c>. <see cref="Name"/> matches the start of either party's name, ignoring case and accents.
/// Durations are whole calls, stop minus start.
/// </summary>
public sealed record CallSearchQuery(
    DateTimeOffset? From = null,
    DateTimeOffset? To = null,
    string? Number = null,
    string? Name = null,
    string? Sid = null,
    MediaPresence? Has = null,
    TimeSpan? MinDuration = null,
    TimeSpan? MaxDuration = null,
    int Limit = CallSearch.DefaultLimit,
    string? Cursor = null);

/// <summary>One page, newest first; <see cref="NextCursor"/> is null on the last page.</summary>
public sealed record CallSearchPage(IReadOnlyList<Couple> Items, string? NextCursor);

/// <summary>A search the caller got wrong (a tampered or foreign cursor, a limit out of range ...): a 400, nothing ran.</summary>
public sealed class InvalidSearchException(string message) : Exception(message);

/// <summary>
/// Finds couples for a user, only ever within the user's scope, newest first (start, then id), a page at a time.
/// Pages follow each other by keyset: the cursor holds the (start, id) of the last couple shown, signed with a key
/// kept in the database and bound to the user and the filters, so a changed cursor is an error, never another page.
/// Every filter is an index range on both engines; a filter on either party runs as two index-ordered branches
/// (calling, called) merged by UNION, so the database never sorts more than two pages.
/// </summary>
public sealed class CallSearch(Database db)
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 500;

    private const string Columns = "id, sid, start_at, stop_at, calling_number, calling_name, called_number, called_name, types";
    private const string NewestFirst = "ORDER BY start_at DESC, id DESC";

    private byte[]? _cursorKey;

    /// <summary>The normalisation every writer of couples stores in the folded name columns.</summary>
    public static string FoldName(string? name) => NameFolding.Fold(name);

    public async Task<CallSearchPage> SearchAsync(UserAccess user, CallSearchQuery query, CancellationToken ct = default)
    {
        Validate(query);
        var key = await CursorKeyAsync(ct);
        var binding = Binding(user, query);
        var after = query.Cursor is null ? ((long Start, long Id)?)null : ReadCursor(key, binding, query.Cursor);
        if (!user.ScopeAll && user.Numbers.Count == 0)
        {
            return new CallSearchPage([], null);
        }

        if (query.Name is not null)
        {
            await FoldPendingAsync(ct);
        }

        var (sql, args) = Plan(user, query, after);
        await using var connection = await db.OpenAsync(ct);
        var rows = (await connection.QueryAsync<Couple>(new CommandDefinition(sql, args, cancellationToken: ct))).ToList();
        if (rows.Count <= query.Limit)
        {
            return new CallSearchPage(rows, null);
        }

        rows.RemoveAt(rows.Count - 1);
        return new CallSearchPage(rows, WriteCursor(key, binding, rows[^1].StartAt, rows[^1].Id));
    }

    /// <summary>The database's plan for a search (EXPLAIN / EXPLAIN QUERY PLAN), one line per row: for docs/benchmarks.md and slow searches.</summary>
    public async Task<IReadOnlyList<string>> ExplainAsync(UserAccess user, CallSearchQuery query, CancellationToken ct = default)
    {
        Validate(query);
        var (sql, args) = Plan(user, query, query.Cursor is null ? null : (long.MaxValue, long.MaxValue));
        await using var connection = await db.OpenAsync(ct);
        if (db.Kind == DbKind.Postgres)
        {
            return (await connection.QueryAsync<string>(new CommandDefinition("EXPLAIN " + sql, args, cancellationToken: ct))).ToList();
        }

        return (await connection.QueryAsync<(long Id, long Parent, long NotUsed, string Detail)>(new CommandDefinition("EXPLAIN QUERY PLAN " + sql, args, cancellationToken: ct)))
            .Select(r => $"{r.Id} {r.Parent} {r.Detail}").ToList();
    }

    private (string Sql, DynamicParameters Args) Plan(UserAccess user, CallSearchQuery query, (long Start, long Id)? after)
    {
        var args = new DynamicParameters();
        var common = new List<string>();
        AddCommonFilters(user, query, after, common, args);

        var number = query.Number is { } n ? PartyFilter(n.TrimEnd('*'), n.EndsWith('*'), "num", args) : null;
        var name = query.Name is { } text ? PartyFilter(NameFolding.Fold(text), prefix: true, "name", args) : null;
        string[] branches;
        if (number is not null)
        {
            if (name is not null)
            {
                common.Add($"({name("calling_name_folded")} OR {name("called_name_folded")})");
            }

            branches = [number("calling_number"), number("called_number")];
        }
        else if (name is not null)
        {
            branches = [name("calling_name_folded"), name("called_name_folded")];
        }
        else
        {
            branches = [];
        }

        args.Add("take", query.Limit + 1);
        var where = string.Join(" AND ", common.DefaultIfEmpty("1 = 1"));
        var sql = branches.Length == 0
            ? $"SELECT {Columns} FROM couples WHERE {where} {NewestFirst} LIMIT @take"
            : $"""
              SELECT {Columns} FROM (
                  SELECT * FROM (SELECT {Columns} FROM couples WHERE {branches[0]} AND {where} {NewestFirst} LIMIT @take) a
                  UNION
                  SELECT * FROM (SELECT {Columns} FROM couples WHERE {branches[1]} AND {where} {NewestFirst} LIMIT @take) b
              ) u {NewestFirst} LIMIT @take
              """;
        return (sql, args);
    }

    private void AddCommonFilters(UserAccess user, CallSearchQuery query, (long Start, long Id)? after, List<string> common, DynamicParameters args)
    {
        if (query.From is { } from)
        {
            common.Add("start_at >= @from");
            args.Add("from", from.ToUnixTimeMilliseconds());
        }

        if (query.To is { } to)
        {
            common.Add("start_at < @to");
            args.Add("to", to.ToUnixTimeMilliseconds());
        }

        if (after is { } position)
        {
            // Row values compare (start, id) as one key; the plain bound beside it lets SQLite, which does not turn
            // the row value into an index range, start the index scan at the cursor too.
            common.Add("start_at <= @afterStart AND (start_at, id) < (@afterStart, @afterId)");
            args.Add("afterStart", position.Start);
            args.Add("afterId", position.Id);
        }

        if (query.Sid is { } sid)
        {
            common.Add("sid = @sid");
            args.Add("sid", sid);
        }

        if (query.Has is { } has)
        {
            common.Add(has switch
            {
                MediaPresence.Audio => $"(types & {MediaType.Audio}) <> 0",
                MediaPresence.Video => $"(types & {MediaType.Video}) <> 0",
                _ => $"(types & {MediaType.Video | MediaType.Recd}) = {MediaType.Recd}",
            });
        }

        if (query.MinDuration is { } min)
        {
            common.Add("stop_at - start_at >= @minMs");
            args.Add("minMs", (long)min.TotalMilliseconds);
        }

        if (query.MaxDuration is { } max)
        {
            common.Add("stop_at - start_at <= @maxMs");
            args.Add("maxMs", (long)max.TotalMilliseconds);
        }

        if (!user.ScopeAll)
        {
            common.Add($"({db.In("calling_number", "scope")} OR {db.In("called_number", "scope")})");
            args.Add("scope", user.Numbers.ToArray());
        }
    }

    /// <summary>
    /// "column equals value", or for a prefix "column starts with value": an index range [value, next value) that is
    /// exact under a bytewise collation, checked again with substr so that no other collation can add a row.
    /// </summary>
    private static Func<string, string> PartyFilter(string value, bool prefix, string name, DynamicParameters args)
    {
        args.Add(name, value);
        if (!prefix)
        {
            return column => $"{column} = @{name}";
        }

        args.Add(name + "Hi", value[..^1] + (char)(value[^1] + 1));
        args.Add(name + "Len", value.Length);
        return column => $"({column} >= @{name} AND {column} < @{name}Hi AND substr({column}, 1, @{name}Len) = @{name})";
    }

    private static void Validate(CallSearchQuery query)
    {
        if (query.Limit is < 1 or > MaxLimit)
        {
            throw new InvalidSearchException($"limit must be between 1 and {MaxLimit}");
        }

        if (query.From is { } from && query.To is { } to && from > to)
        {
            throw new InvalidSearchException("from is after to");
        }

        if (query.MinDuration is { } min && query.MaxDuration is { } max && min > max)
        {
            throw new InvalidSearchException("minDuration is longer than maxDuration");
        }

        if (query.MinDuration < TimeSpan.Zero || query.MaxDuration < TimeSpan.Zero)
        {
            throw new InvalidSearchException("a duration cannot be negative");
        }

        if (query.Number is { } number && (number.TrimEnd('*').Length == 0 || number.TrimEnd('*').Contains('*', StringComparison.Ordinal) || number.Length - number.TrimEnd('*').Length > 1))
        {
            throw new InvalidSearchException("number must not be empty; one trailing * makes it a prefix");
        }

        if (query.Name is { } name && NameFolding.Fold(name).Length == 0)
        {
            throw new InvalidSearchException("name is empty");
        }

        if (query.Sid is { Length: 0 })
        {
            throw new InvalidSearchException("sid is empty");
        }
    }

    /// <summary>Couples written by a writer that does not fold names yet are folded before a name search (one index probe when none are).</summary>
    private async Task FoldPendingAsync(CancellationToken ct)
    {
        await using (var connection = await db.OpenAsync(ct))
        {
            if (await connection.ExecuteScalarAsync<long?>("SELECT id FROM couples WHERE calling_name_folded IS NULL LIMIT 1") is null)
            {
                return;
            }
        }

        await db.WriteAsync(
            async connection =>
            {
                await using var tx = await connection.BeginTransactionAsync(ct);
                var folded = await NameFolding.FoldPendingAsync(connection, tx, ct);
                await tx.CommitAsync(ct);
                return folded;
            },
            ct);
    }

    private async Task<byte[]> CursorKeyAsync(CancellationToken ct)
    {
        if (_cursorKey is { } key)
        {
            return key;
        }

        await using var connection = await db.OpenAsync(ct);
        var stored = await connection.ExecuteScalarAsync<string>(
            "SELECT key_value FROM server_keys WHERE name = @name", new { name = SearchMigration.CursorKeyName })
            ?? throw new InvalidOperationException("the search cursor key is missing: run the migrations");
        return _cursorKey = Convert.FromBase64String(stored);
    }

    /// <summary>What a cursor is valid for: this user and exactly these filters (not the limit, which may change between pages).</summary>
    private static byte[] Binding(UserAccess user, CallSearchQuery query) =>
        SHA256.HashData(Encoding.UTF8.GetBytes(string.Join(
            '\u001f',
            user.UserId,
            query.From?.ToUnixTimeMilliseconds(),
            query.To?.ToUnixTimeMilliseconds(),
            query.Number,
            query.Name is null ? null : NameFolding.Fold(query.Name),
            query.Sid,
            query.Has,
            query.MinDuration?.Ticks,
            query.MaxDuration?.Ticks)));

    private const int PositionBytes = 16;
    private const int MacBytes = 16;

    internal static string WriteCursor(byte[] key, byte[] binding, long start, long id)
    {
        var cursor = new byte[PositionBytes + MacBytes];
        BinaryPrimitives.WriteInt64BigEndian(cursor, start);
        BinaryPrimitives.WriteInt64BigEndian(cursor.AsSpan(8), id);
        Mac(key, binding, cursor.AsSpan(0, PositionBytes)).CopyTo(cursor.AsSpan(PositionBytes));
        return Convert.ToBase64String(cursor).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    internal static (long Start, long Id) ReadCursor(byte[] key, byte[] binding, string text)
    {
        var cursor = new byte[PositionBytes + MacBytes];
        var base64 = text.Replace('-', '+').Replace('_', '/');
        if (text.Length != 43 || !Convert.TryFromBase64String(base64 + "=", cursor, out var length) || length != cursor.Length
            || !CryptographicOperations.FixedTimeEquals(Mac(key, binding, cursor.AsSpan(0, PositionBytes)), cursor.AsSpan(PositionBytes)))
        {
            throw new InvalidSearchException("the cursor is not one this search issued");
        }

        return (BinaryPrimitives.ReadInt64BigEndian(cursor), BinaryPrimitives.ReadInt64BigEndian(cursor.AsSpan(8)));
    }

    private static byte[] Mac(byte[] key, byte[] binding, ReadOnlySpan<byte> position)
    {
        var message = new byte[binding.Length + position.Length];
        binding.CopyTo(message, 0);
        position.CopyTo(message.AsSpan(binding.Length));
        return HMACSHA256.HashData(key, message)[..MacBytes];
    }
}
