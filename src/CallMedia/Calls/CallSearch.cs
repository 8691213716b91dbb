using System.Buffers.Binary;
using System.Data.Common;
using System.Globalization;
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
public sealed class InvalidSearchException(string message, string? parameter = null) : Exception(message)
{
    /// <summary>The one parameter that is wrong, when it is one alone (not a combination).</summary>
    public string? Parameter { get; } = parameter;
}

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
        if (user.SeesNoCalls)
        {
            return new CallSearchPage([], null);
        }

        if (query.Name is not null)
        {
            await FoldPendingAsync(ct);
        }

        await using var connection = await db.OpenAsync(ct);
        if (await PlanAsync(connection, user, query, after, null, ct) is not var (sql, args))
        {
            return new CallSearchPage([], null);
        }

        var rows = (await connection.QueryAsync<Couple>(new CommandDefinition(sql, args, cancellationToken: ct))).ToList();
        if (rows.Count <= query.Limit)
        {
            return new CallSearchPage(rows, null);
        }

        rows.RemoveAt(rows.Count - 1);
        return new CallSearchPage(rows, WriteCursor(key, binding, rows[^1].StartAt, rows[^1].Id));
    }

    /// <summary>
    /// The database's plan for a search (EXPLAIN / EXPLAIN QUERY PLAN), one line per row, the listing of a prefix's
    /// values first when the search lists them: for docs/benchmarks.md and slow searches.
    /// </summary>
    public async Task<IReadOnlyList<string>> ExplainAsync(UserAccess user, CallSearchQuery query, CancellationToken ct = default)
    {
        Validate(query);
        if (query.Name is not null)
        {
            await FoldPendingAsync(ct);
        }

        await using var connection = await db.OpenAsync(ct);
        var lines = new List<string>();
        var statements = new List<(string Label, string Sql, DynamicParameters Args)>();
        if (await PlanAsync(connection, user, query, query.Cursor is null ? null : (long.MaxValue, long.MaxValue), s => statements.Add(("values", s.Item1, s.Item2)), ct) is { } plan)
        {
            statements.Add(("rows", plan.Sql, plan.Args));
        }

        foreach (var (label, sql, args) in statements)
        {
            lines.Add("-- " + label);
            lines.AddRange(db.Kind == DbKind.Postgres
                ? await connection.QueryAsync<string>(new CommandDefinition("EXPLAIN " + sql, args, cancellationToken: ct))
                : (await connection.QueryAsync<(long Id, long Parent, long NotUsed, string Detail)>(new CommandDefinition("EXPLAIN QUERY PLAN " + sql, args, cancellationToken: ct)))
                    .Select(r => $"{r.Id} {r.Parent} {r.Detail}"));
        }

        return lines;
    }

    /// <summary>
    /// How many distinct values per party a prefix may match and still be read as one newest-first index range per
    /// value, merged; past it, the prefix matches densely enough that walking the time index newest first and
    /// filtering finds a page sooner.
    /// </summary>
    internal const int PrefixValueCap = 64;

    /// <summary>
    /// The statement that reads one page (null when nothing can match). Every shape reads at most a page or two per
    /// index range in newest-first order, never all matches:
    /// no party filter — the time index backwards; an exact number — one range per party, merged by UNION;
    /// a prefix (of a number, or a name) — its distinct values are listed first by skipping through the party's
    /// index from value to value (<see cref="PrefixValuesAsync"/>), then one range per value, merged in time order
    /// by UNION ALL (a couple that matches as calling party is left out of the called party's ranges, so none comes
    /// twice); when a party has more than <see cref="PrefixValueCap"/> values, the time index backwards, filtered.
    /// </summary>
    private async Task<(string Sql, DynamicParameters Args)?> PlanAsync(
        DbConnection connection, UserAccess user, CallSearchQuery query, (long Start, long Id)? after, Action<(string, DynamicParameters)>? listing, CancellationToken ct)
    {
        var args = new DynamicParameters();
        var common = new List<string>();
        AddCommonFilters(user, query, after, common, args);
        args.Add("take", query.Limit + 1);

        var numberPrefix = query.Number?.EndsWith('*') == true;
        var number = query.Number is { } n ? PartyFilter(n.TrimEnd('*'), numberPrefix, "num", args) : null;
        var name = query.Name is { } text ? PartyFilter(NameFolding.Fold(text), prefix: true, "name", args) : null;
        if (number is not null && name is not null)
        {
            common.Add($"({name("calling_name_folded")} OR {name("called_name_folded")})");
        }

        var where = string.Join(" AND ", common.DefaultIfEmpty("1 = 1"));
        if (number is not null && !numberPrefix)
        {
            return ($"""
                SELECT {Columns} FROM (
                    SELECT * FROM (SELECT {Columns} FROM couples WHERE {number("calling_number")} AND {where} {NewestFirst} LIMIT @take) a
                    UNION
                    SELECT * FROM (SELECT {Columns} FROM couples WHERE {number("called_number")} AND {where} {NewestFirst} LIMIT @take) b
                ) u {NewestFirst} LIMIT @take
                """, args);
        }

        var (prefix, calling, called, parameter) = number is not null
            ? (number, "calling_number", "called_number", "num")
            : name is not null ? (name, "calling_name_folded", "called_name_folded", "name") : default;
        if (prefix is null)
        {
            return ($"SELECT {Columns} FROM couples WHERE {where} {NewestFirst} LIMIT @take", args);
        }

        var values = await PrefixValuesAsync(connection, calling, called, parameter, args.Get<string>(parameter), args, listing, ct);
        if (values is null)
        {
            // Too many values: the time index backwards, with the prefix as a filter (SQLite's unary + keeps it off the party indexes).
            var column = (string c) => db.Kind == DbKind.Sqlite ? "+" + c : c;
            return ($"SELECT {Columns} FROM couples WHERE ({prefix(column(calling))} OR {prefix(column(called))}) AND {where} {NewestFirst} LIMIT @take", args);
        }

        if (values.Count == 0)
        {
            return null;
        }

        var calledFilter = $"AND ({prefix(calling)}) IS NOT TRUE AND {where}";
        if (db.Kind == DbKind.Postgres)
        {
            // One range per value through LATERAL over the values as arrays: a statement of the same shape, planned
            // as quickly, whatever the number of values. Each range gives at most a page of (start, id), from the
            // party index alone when no other filter needs the row; UNION drops a couple found for both parties;
            // only the page's own couples are then read.
            args.Add("callingValues", values.Where(v => v.Party == 0).Select(v => v.Value).ToArray());
            args.Add("calledValues", values.Where(v => v.Party == 1).Select(v => v.Value).ToArray());
            return ($"""
                SELECT {Columns} FROM couples WHERE id IN (
                    SELECT id FROM (
                        SELECT r.start_at, r.id FROM unnest(@callingValues::text[]) AS v(value) CROSS JOIN LATERAL
                            (SELECT start_at, id FROM couples WHERE {calling} = v.value AND {where} {NewestFirst} LIMIT @take) r
                        UNION
                        SELECT r.start_at, r.id FROM unnest(@calledValues::text[]) AS v(value) CROSS JOIN LATERAL
                            (SELECT start_at, id FROM couples WHERE {called} = v.value AND {where} {NewestFirst} LIMIT @take) r
                    ) u {NewestFirst} LIMIT @take)
                {NewestFirst}
                """, args);
        }

        // SQLite merges the ranges of a compound SELECT in the ORDER BY's order, reading each only as far as the page needs.
        var ranges = new List<string>();
        foreach (var (party, value) in values)
        {
            var p = $"v{ranges.Count}";
            args.Add(p, value);
            ranges.Add(party == 0
                ? $"SELECT {Columns} FROM couples WHERE {calling} = @{p} AND {where}"
                : $"SELECT {Columns} FROM couples WHERE {called} = @{p} {calledFilter}");
        }

        return ($"{string.Join("\nUNION ALL\n", ranges)}\n{NewestFirst} LIMIT @take", args);
    }

    /// <summary>
    /// The distinct values of each party column in the prefix's range (party 0 calling, 1 called), in one statement:
    /// a recursive step from each value to the next one in the party's index (a loose index scan: one index probe per
    /// value, however many couples share it). Null when either party has more than <see cref="PrefixValueCap"/>.
    /// </summary>
    private static async Task<List<(int Party, string Value)>?> PrefixValuesAsync(
        DbConnection connection, string calling, string called, string parameter, string start, DynamicParameters args, Action<(string, DynamicParameters)>? listing, CancellationToken ct)
    {
        var upper = args.ParameterNames.Contains(parameter + "Hi") ? $" AND {{0}} < @{parameter}Hi" : "";
        string Skip(string table, string column) => $"""
            {table}(v, n) AS (
                SELECT (SELECT {column} FROM couples WHERE {column} >= @{parameter}{string.Format(CultureInfo.InvariantCulture, upper, column)} ORDER BY {column} LIMIT 1), 1
                UNION ALL
                SELECT (SELECT {column} FROM couples WHERE {column} > {table}.v{string.Format(CultureInfo.InvariantCulture, upper, column)} ORDER BY {column} LIMIT 1), {table}.n + 1
                FROM {table} WHERE {table}.v IS NOT NULL AND {table}.n <= @cap)
            """;
        var sql = $"""
            WITH RECURSIVE {Skip("a", calling)},
            {Skip("b", called)}
            SELECT 0 AS party, v FROM a WHERE v IS NOT NULL
            UNION ALL
            SELECT 1 AS party, v FROM b WHERE v IS NOT NULL
            """;
        var listArgs = new DynamicParameters(args);
        listArgs.Add("cap", PrefixValueCap);
        listing?.Invoke((sql, listArgs));
        var rows = (await connection.QueryAsync<(long Party, string Value)>(new CommandDefinition(sql, listArgs, cancellationToken: ct))).ToList();
        if (rows.Count(r => r.Party == 0) > PrefixValueCap || rows.Count(r => r.Party == 1) > PrefixValueCap)
        {
            return null;
        }

        // The range is the prefix's exactly under a bytewise collation (see PartyFilter); this keeps any other out.
        return rows.Where(r => r.Value.StartsWith(start, StringComparison.Ordinal)).Select(r => ((int)r.Party, r.Value)).ToList();
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
    /// "column equals value", or for a prefix "column starts with value": the index range [value, next value), exact
    /// under the bytewise collation both engines compare these columns with (SQLite's BINARY, PostgreSQL's "C", see
    /// <see cref="SearchMigration"/>) — so the planner estimates the range as it is. A prefix ending in a character
    /// whose successor is not the next in byte order (a surrogate, U+FFFF) is ranged without it and checked with substr.
    /// </summary>
    internal static Func<string, string> PartyFilter(string value, bool prefix, string name, DynamicParameters args)
    {
        args.Add(name, value);
        if (!prefix)
        {
            return column => $"{column} = @{name}";
        }

        var stem = value;
        while (stem.Length > 0 && (char.IsSurrogate(stem[^1]) || stem[^1] == '\uFFFF' || char.IsSurrogate((char)(stem[^1] + 1))))
        {
            stem = stem[..^1];
        }

        var upper = stem.Length == 0 ? "" : $" AND {{0}} < @{name}Hi";
        if (stem.Length > 0)
        {
            args.Add(name + "Hi", stem[..^1] + (char)(stem[^1] + 1));
        }

        if (stem.Length == value.Length)
        {
            return column => $"({column} >= @{name}{string.Format(CultureInfo.InvariantCulture, upper, column)})";
        }

        args.Add(name + "Len", value.EnumerateRunes().Count());
        return column => $"({column} >= @{name}{string.Format(CultureInfo.InvariantCulture, upper, column)} AND substr({column}, 1, @{name}Len) = @{name})";
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
            throw new InvalidSearchException("number must be a number, or the start of one followed by one * (a prefix); a * alone or inside it is not one", "number");
        }

        if (query.Name is { } name && NameFolding.Fold(name).Length == 0)
        {
            throw new InvalidSearchException("name is empty", "name");
        }

        if (query.Sid is { Length: 0 })
        {
            throw new InvalidSearchException("sid is empty", "sid");
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
        // Only the one spelling this search writes: base64 ignores the last character's low bits, so without the
        // round trip a changed character could still read as the same cursor.
        if (text.Length != 43 || !Convert.TryFromBase64String(base64 + "=", cursor, out var length) || length != cursor.Length
            || !string.Equals(Convert.ToBase64String(cursor).TrimEnd('=').Replace('+', '-').Replace('/', '_'), text, StringComparison.Ordinal)
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
