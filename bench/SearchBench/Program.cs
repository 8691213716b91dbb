// Call search and token issue latency at scale: bench/search.sh runs this once per database.
//   SearchBench load <couples> <connection args...>   replaces the couples with generated ones (bulk, indexes rebuilt)
//   SearchBench measure <samples> <connection args...> prints p50/p99 of each search and of a token issue
using System.Diagnostics;
using CallMedia.App;
using CallMedia.Audit;
using CallMedia.Auth;
using CallMedia.Calls;
using CallMedia.Data;
using CallMedia.Hosting;
using CallMedia.Tokens;
using Dapper;

var mode = args[0];
var count = long.Parse(args[1]);
var app = ServerHost.Build(["--Logging:LogLevel:Default=Warning", .. args[2..]]);
await ServerHost.PrepareAsync(app, demo: false);
var db = app.Services.GetRequiredService<Database>();

if (mode == "load")
{
    await Bench.LoadAsync(db, count);
}
else if (mode == "explain")
{
    await Bench.ExplainAsync(app.Services);
}
else
{
    await Bench.MeasureAsync(app.Services, db, (int)count);
}

internal static class Bench
{
    private static readonly DateTimeOffset Origin = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The couples span one year, whatever their number.</summary>
    private const long YearMs = 365L * 86_400_000;

    private static readonly (string Name, string Folded)[] First =
    [
        ("Jiří", "jiri"), ("Zoë", "zoe"), ("Łukasz", "lukasz"), ("Ana", "ana"), ("José", "jose"), ("Françoise", "francoise"),
        ("Søren", "soren"), ("Björn", "bjorn"), ("Émile", "emile"), ("Agnès", "agnes"), ("Miloš", "milos"), ("Petra", "petra"),
        ("John", "john"), ("Mary", "mary"), ("Noël", "noel"), ("Chloé", "chloe"), ("Renée", "renee"), ("Dvořák", "dvorak"),
        ("Zdeněk", "zdenek"), ("Ève", "eve"), ("Hélène", "helene"), ("Jürgen", "jurgen"), ("Ömer", "omer"), ("Çelik", "celik"),
        ("Ñuño", "nuno"), ("Ingrid", "ingrid"), ("Marek", "marek"), ("Tomáš", "tomas"), ("Věra", "vera"), ("Karel", "karel"),
        ("Anna", "anna"), ("David", "david"), ("Pavel", "pavel"), ("Lucie", "lucie"), ("Jana", "jana"), ("Eva", "eva"),
        ("Martin", "martin"), ("Hana", "hana"), ("Jan", "jan"), ("Petr", "petr"),
    ];

    private static readonly string[] Last =
    [
        "Novák", "Svoboda", "Novotný", "Dvořák", "Černý", "Procházka", "Kučera", "Veselý", "Horák", "Němec", "Pokorný", "Marek",
        "Pospíšil", "Hájek", "Jelínek", "Král", "Růžička", "Beneš", "Fiala", "Sedláček", "Doležal", "Zeman", "Kolář", "Navrátil",
        "Čermák", "Vaněk", "Urban", "Blažek", "Kříž", "Kovář", "Bartoš", "Vlček", "Polák", "Musil", "Kopecký", "Šimek", "Konečný",
        "Malý", "Holub", "Štěpánek", "Kadlec", "Dostál", "Soukup", "Šťastný", "Mareš", "Moravec", "Sýkora", "Tichý", "Valenta",
        "Vávra", "Matoušek", "Bláha", "Říha", "Ševčík", "Bureš", "Hruška", "Mašek", "Pavlík", "Dušek", "Janda", "Hrubý", "Mach",
        "Müller", "Schröder", "Weiß", "Größe", "Lefèvre", "Gérard", "Núñez", "Peña", "García", "Gómez", "Ibáñez", "Åberg",
        "Østergaard", "Løvlie", "Nowakowski", "Wójcik", "Kowalczyk", "Zieliński", "Szymański", "Woźniak", "Dąbrowski", "Kozłowski",
        "Jankowski", "Mazur", "Kwiatkowski", "Krawczyk", "Piotrowski", "Grabowski", "Pawłowski", "Michalski", "Król", "Wieczorek",
        "Jabłoński", "Wróbel", "Nowak",
    ];

    public static async Task LoadAsync(Database db, long count)
    {
        await using var connection = await db.OpenAsync();
        var postgres = db.Kind == DbKind.Postgres;
        var indexes = (await connection.QueryAsync<string>(postgres
            ? "SELECT indexdef FROM pg_indexes WHERE tablename = 'couples' AND indexname LIKE 'ix\\_%'"
            : "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'couples' AND name LIKE 'ix\\_%' ESCAPE '\\'")).ToList();
        var watch = Stopwatch.StartNew();
        await connection.ExecuteAsync("DELETE FROM media_files; DELETE FROM jobs; DELETE FROM couples;");
        foreach (var index in indexes)
        {
            var name = index.Split(' ', StringSplitOptions.RemoveEmptyEntries).SkipWhile(w => w != "INDEX").Skip(1).First();
            await connection.ExecuteAsync($"DROP INDEX {name}");
        }

        await connection.ExecuteAsync("DROP TABLE IF EXISTS bench_first; DROP TABLE IF EXISTS bench_last;");
        await connection.ExecuteAsync("CREATE TABLE bench_first (i BIGINT PRIMARY KEY, name TEXT, folded TEXT); CREATE TABLE bench_last (i BIGINT PRIMARY KEY, name TEXT, folded TEXT);");
        await connection.ExecuteAsync("INSERT INTO bench_first VALUES (@i, @name, @folded)", First.Select((f, i) => new { i, name = f.Name, folded = f.Folded }));
        await connection.ExecuteAsync("INSERT INTO bench_last VALUES (@i, @name, @folded)", Last.Select((l, i) => new { i, name = l, folded = NameFolding.Fold(l) }));
        if (!postgres)
        {
            await connection.ExecuteAsync("PRAGMA synchronous=OFF");
        }

        // One statement either way: PostgreSQL's generate_series, SQLite's recursive CTE; the same row expressions.
        var series = postgres
            ? "SELECT g FROM generate_series(1::bigint, @count) AS s(g)"
            : "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < @count) SELECT g FROM s";
        var insert = $"""
            INSERT INTO couples (id, sid, start_at, stop_at, calling_number, calling_name, called_number, called_name, types, calling_name_folded, called_name_folded)
            SELECT g, 'b' || CAST(g AS TEXT), @origin + g * {YearMs / count} + (g * 7919) % 3000, @origin + g * {YearMs / count} + (g * 7919) % 3000 + 10000 + (g * 104729) % 590000,
                   '+420' || CAST(100000 + (g * 48271) % 20000 AS TEXT), f1.name || ' ' || l1.name,
                   '+421' || CAST(200000 + (g * 16807) % 50000 AS TEXT), f2.name || ' ' || l2.name,
                   CASE WHEN g % 20 = 0 THEN 33 WHEN g % 5 = 0 THEN 17 ELSE 1 END,
                   f1.folded || ' ' || l1.folded, f2.folded || ' ' || l2.folded
            FROM ({series}) AS s
            JOIN bench_first f1 ON f1.i = g % {First.Length} JOIN bench_last l1 ON l1.i = (g / {First.Length}) % {Last.Length}
            JOIN bench_first f2 ON f2.i = (g * 7) % {First.Length} JOIN bench_last l2 ON l2.i = (g / 13) % {Last.Length}
            """;
        if (postgres)
        {
            await connection.ExecuteAsync(insert, new { count, origin = Origin.ToUnixTimeMilliseconds() }, commandTimeout: 0);
        }
        else
        {
            await using var tx = await connection.BeginTransactionAsync();
            await connection.ExecuteAsync(insert, new { count, origin = Origin.ToUnixTimeMilliseconds() }, tx, commandTimeout: 0);
            await tx.CommitAsync();
        }

        Console.WriteLine($"loaded {count:N0} couples in {watch.Elapsed.TotalSeconds:F0} s");
        watch.Restart();
        foreach (var index in indexes)
        {
            await connection.ExecuteAsync(index, commandTimeout: 0, commandType: System.Data.CommandType.Text);
        }

        await connection.ExecuteAsync(postgres ? "VACUUM ANALYZE couples" : "ANALYZE", commandTimeout: 0, commandType: System.Data.CommandType.Text);
        await db.AfterExplicitIdsAsync(connection, null!, "couples");
        Console.WriteLine($"indexed and analysed in {watch.Elapsed.TotalSeconds:F0} s");
    }

    public static async Task ExplainAsync(IServiceProvider services)
    {
        var search = services.GetRequiredService<CallSearch>();
        var user = await BenchUserAsync(services);
        var day = Origin.AddDays(100);
        var queries = new (string Name, CallSearchQuery Query)[]
        {
            ("number, one day", new CallSearchQuery(From: day, To: day.AddDays(1), Number: "+420100042")),
            ("name prefix", new CallSearchQuery(Name: "jiri no")),
            ("number prefix, 10 values", new CallSearchQuery(Number: "+42010000*")),
            ("number prefix, 100 values", new CallSearchQuery(Number: "+4201000*")),
            ("number prefix, next page", new CallSearchQuery(Number: "+42010000*", Cursor: "any")),
            ("time range, page 1", new CallSearchQuery(From: day, To: day.AddDays(7))),
            ("time range, next page", new CallSearchQuery(From: day, To: day.AddDays(7), Cursor: "any")),
        };
        foreach (var (name, query) in queries)
        {
            Console.WriteLine($"-- {name}");
            foreach (var line in await search.ExplainAsync(user, query))
            {
                Console.WriteLine(line);
            }
        }
    }

    private static async Task<UserAccess> BenchUserAsync(IServiceProvider services)
    {
        var users = services.GetRequiredService<UserStore>();
        var userId = (await users.FindForLoginAsync("bench"))?.Id ?? await users.AddAsync("bench", Secrets.NewPassword(), ["supervisor"], null);
        return (await users.LoadAccessAsync(userId))!;
    }

    public static async Task MeasureAsync(IServiceProvider services, Database db, int samples)
    {
        var search = services.GetRequiredService<CallSearch>();
        long count;
        await using (var connection = await db.OpenAsync())
        {
            count = await connection.ExecuteScalarAsync<long>("SELECT MAX(id) FROM couples");
        }

        var user = await BenchUserAsync(services);
        var random = new Random(7);
        const int days = 365;
        DateTimeOffset Day(int d) => Origin.AddDays(d);
        string Number() => random.Next(2) == 0 ? "+420" + (100000 + random.Next(20000)) : "+421" + (200000 + random.Next(50000));
        string NamePrefix() => First[random.Next(First.Length)].Folded + " " + NameFolding.Fold(Last[random.Next(Last.Length)])[..2];

        Console.WriteLine($"{count:N0} couples on {db.Kind}, {samples} samples each (after {samples / 10} warm-up), milliseconds");
        await ReportAsync("number, one day", samples, () =>
        {
            var d = random.Next(days);
            return search.SearchAsync(user, new CallSearchQuery(From: Day(d), To: Day(d + 1), Number: Number()));
        });
        await ReportAsync("name prefix", samples, () => search.SearchAsync(user, new CallSearchQuery(Name: NamePrefix())));
        await ReportAsync("number prefix (+42010000*)", samples, () => search.SearchAsync(user, new CallSearchQuery(Number: "+42010000*")));
        await ReportAsync("number prefix (+4201000*)", samples, () => search.SearchAsync(user, new CallSearchQuery(Number: "+4201000*")));
        await ReportAsync("number prefix, page 2", samples, async () =>
        {
            var query = new CallSearchQuery(Number: "+420100" + random.Next(10, 20) + "*");
            return await search.SearchAsync(user, query with { Cursor = (await search.SearchAsync(user, query)).NextCursor });
        });
        await ReportAsync("time range, page 1", samples, () =>
        {
            var d = random.Next(days - 7);
            return search.SearchAsync(user, new CallSearchQuery(From: Day(d), To: Day(d + 7)));
        });

        var pageTimes = new List<double>();
        for (var i = 0; i < samples / 4 + 3; i++)
        {
            var d = random.Next(days - 7);
            var query = new CallSearchQuery(From: Day(d), To: Day(d + 7));
            var page = await search.SearchAsync(user, query);
            for (var p = 2; p < 100; p++)
            {
                page = await search.SearchAsync(user, query with { Cursor = page.NextCursor });
            }

            var watch = Stopwatch.StartNew();
            page = await search.SearchAsync(user, query with { Cursor = page.NextCursor });
            if (i >= 3)
            {
                pageTimes.Add(watch.Elapsed.TotalMilliseconds);
            }

            if (page.Items.Count == 0)
            {
                throw new InvalidOperationException("page 100 is empty");
            }
        }

        Print("time range, page 100 (cursors)", pageTimes);

        var sessions = services.GetRequiredService<SessionService>();
        var tokens = services.GetRequiredService<TokenService>();
        var session = (await sessions.ResolveAsync(await sessions.CreateAsync(user.UserId, "bench")))!;
        await ReportAsync("token insert (one id)", samples, () => tokens.IssueAsync(session, [1 + random.NextInt64(count)], MediaType.Audio, TokenAction.Stream));

        // What POST /api/v1/tokens does past the HTTP layer: rights and scope, the session's window, token and audit record.
        var access = services.GetRequiredService<CoupleAccess>();
        var right = TokenCriteria.RightFor(MediaType.Audio, TokenAction.Stream);
        await ReportAsync("token issue (API path)", samples, async () =>
        {
            long[] ids = [1 + random.NextInt64(count)];
            await access.CheckAsync(user, right, ids);
            return await tokens.IssueWithinWindowAsync(
                session, ids, MediaType.Audio, TokenAction.Stream, outcome => new AuditEntry(DateTimeOffset.UtcNow, "bench", "127.0.0.1", "token.stream", ids[0].ToString(System.Globalization.CultureInfo.InvariantCulture), null, outcome));
        });
    }

    private static async Task ReportAsync<T>(string name, int samples, Func<Task<T>> run)
    {
        var times = new List<double>(samples);
        for (var i = 0; i < samples + samples / 10; i++)
        {
            var watch = Stopwatch.StartNew();
            await run();
            if (i >= samples / 10)
            {
                times.Add(watch.Elapsed.TotalMilliseconds);
            }
        }

        Print(name, times);
    }

    private static void Print(string name, List<double> times)
    {
        times.Sort();
        double P(double q) => times[Math.Min(times.Count - 1, (int)Math.Ceiling(q * times.Count) - 1)];
        Console.WriteLine($"{name,-32} p50 {P(0.50),8:F2}   p99 {P(0.99),8:F2}   max {times[^1],8:F2}");
    }
}
