using System.Globalization;
using System.Net;
using CallMedia.Auth;
using CallMedia.Calls;
using CallMedia.Data;
using CallMedia.IntegrationTests.Infrastructure;
using Dapper;
using Microsoft.Extensions.DependencyInjection;

namespace CallMedia.IntegrationTests;

/// <summary>
/// Number and name prefixes over /api/v1/calls, paged a few couples at a time, against the naive answer: couples whose
/// several matching numbers and names interleave in time with couples that do not match, with ties on the start
/// time, on either party. A prefix with few values merges one index range per value; one with more values than the
/// search lists walks the time index instead: both must give exactly the naive order, page after page.
/// </summary>
public sealed class ApiPrefixSearchTests(ApiPrefixSearchTests.DataSet data) : IClassFixture<ApiPrefixSearchTests.DataSet>
{
    private static readonly DateTimeOffset Origin = new(2041, 3, 1, 0, 0, 0, TimeSpan.Zero);

    internal sealed record Row(long Id, long Start, string Calling, string CallingName, string Called, string CalledName);

    /// <summary>A server of its own and 240 couples: 80 matching calling numbers under +17770, 12 names under "quentin z".</summary>
    public sealed class DataSet : IAsyncLifetime
    {
        private static readonly string[] Names =
        [
            "Quentin Zappa", "Quentin Zoë", "QUÉNTIN  Zola", "Quentin Žák", "Quentina Ray", "Quentin Yves", "Other Person", "Zed Quentin",
            "Quentin Zappová", "Quentin Zed", "quentin zz", "Quentin Zebra", "Quentin Zeman", "Quentin Zikmund", "Quentin Zuzana", "Quentin Zvěř",
        ];

        internal TestServer Server { get; private set; } = null!;

        internal List<Row> Rows { get; } = [];

        public async Task InitializeAsync()
        {
            Server = await TestServer.StartAsync();
            var random = new Random(13);
            var db = Server.Services.GetRequiredService<Database>();
            await using var connection = await db.OpenAsync();
            for (var i = 0; i < 240; i++)
            {
                // Three couples share each start time, so pages end in the middle of ties and the id decides.
                var start = Origin.AddMinutes(i / 3 * 7).ToUnixTimeMilliseconds();
                var calling = random.Next(3) == 0 ? "+1888" + random.Next(100).ToString("D2", CultureInfo.InvariantCulture) : "+17770" + random.Next(80).ToString("D2", CultureInfo.InvariantCulture);
                var called = random.Next(4) == 0 ? "+17770" + random.Next(80).ToString("D2", CultureInfo.InvariantCulture) : "+1999" + random.Next(100).ToString("D2", CultureInfo.InvariantCulture);
                var callingName = Names[random.Next(Names.Length)];
                var calledName = random.Next(3) == 0 ? Names[random.Next(Names.Length)] : "";
                var id = await connection.ExecuteScalarAsync<long>(
                    """
                    INSERT INTO couples (sid, start_at, stop_at, calling_number, calling_name, called_number, called_name, types)
                    VALUES (@sid, @start, @stop, @calling, @callingName, @called, @calledName, 1) RETURNING id
                    """,
                    new { sid = $"prefix-{i}", start, stop = start + 60_000, calling, callingName, called, calledName });
                Rows.Add(new Row(id, start, calling, callingName, called, calledName));
            }
        }

        public async Task DisposeAsync() => await Server.DisposeAsync();
    }

    private static IEnumerable<long> Naive(IEnumerable<Row> rows, Func<Row, bool> match) =>
        rows.Where(match).OrderByDescending(r => r.Start).ThenByDescending(r => r.Id).Select(r => r.Id);

    private static bool Number(Row r, string prefix) => r.Calling.StartsWith(prefix, StringComparison.Ordinal) || r.Called.StartsWith(prefix, StringComparison.Ordinal);

    private static bool Name(Row r, string prefix) =>
        NameFolding.Fold(r.CallingName).StartsWith(prefix, StringComparison.Ordinal) || NameFolding.Fold(r.CalledName).StartsWith(prefix, StringComparison.Ordinal);

    /// <summary>Follows the cursors to the end, <paramref name="limit"/> couples a page; every page but the last full.</summary>
    private static async Task<List<long>> AllPagesAsync(ApiClient api, string query, int limit = 7)
    {
        var ids = new List<long>();
        string? cursor = null;
        do
        {
            var page = await api.GetAsync($"/api/v1/calls?limit={limit}&{query}" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor)));
            Assert.Equal(HttpStatusCode.OK, page.Status);
            var items = page.Json.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetInt64()).ToList();
            cursor = page.Json.GetProperty("next").GetString();
            Assert.True(cursor is null || items.Count == limit, $"a page of {items.Count} before the end");
            ids.AddRange(items);
        }
        while (cursor is not null);

        return ids;
    }

    private async Task<ApiClient> SignedInAsync(string? name = null, string[]? scope = null)
    {
        var api = await ApiClient.CreateAsync(data.Server);
        if (name is null)
        {
            await api.SignInAsync();
            return api;
        }

        await data.Server.AddUserAsync(name, "prefix-password", ["listener"], scope);
        await api.SignInAsync(name, "prefix-password");
        return api;
    }

    [Theory]
    [InlineData("+177700")] // ten values per party: one range per value, merged
    [InlineData("+17770")] // eighty values: more than the search lists, the time index walked
    [InlineData("+177707")]
    [InlineData("+1888")]
    public async Task Calls_NumberPrefix_PagesEqualNaiveNewestFirst(string prefix)
    {
        using var api = await SignedInAsync();
        var expected = Naive(data.Rows, r => Number(r, prefix)).ToList();
        Assert.NotEmpty(expected);
        Assert.Equal(expected, await AllPagesAsync(api, "number=" + Uri.EscapeDataString(prefix + "*")));
    }

    [Theory]
    [InlineData("Quentin Z", "quentin z")]
    [InlineData("quentin", "quentin")]
    [InlineData("QUENTIN ZA", "quentin za")]
    [InlineData("zed", "zed")]
    public async Task Calls_NamePrefix_PagesEqualNaiveNewestFirst(string name, string folded)
    {
        using var api = await SignedInAsync();
        var expected = Naive(data.Rows, r => Name(r, folded)).ToList();
        Assert.NotEmpty(expected);
        Assert.Equal(expected, await AllPagesAsync(api, "name=" + Uri.EscapeDataString(name)));
        Assert.Equal(expected, await AllPagesAsync(api, "name=" + Uri.EscapeDataString(name), limit: 1));
    }

    [Fact]
    public async Task Calls_PrefixWithTimeRangeAndName_PagesEqualNaive()
    {
        using var api = await SignedInAsync();
        var from = Origin.AddHours(2);
        var to = Origin.AddHours(7);
        var range = $"from={Uri.EscapeDataString(from.ToString("o", CultureInfo.InvariantCulture))}&to={Uri.EscapeDataString(to.ToString("o", CultureInfo.InvariantCulture))}";
        bool During(Row r) => r.Start >= from.ToUnixTimeMilliseconds() && r.Start < to.ToUnixTimeMilliseconds();

        foreach (var prefix in new[] { "+177700", "+17770" })
        {
            var expected = Naive(data.Rows, r => Number(r, prefix) && Name(r, "quentin z") && During(r)).ToList();
            Assert.NotEmpty(expected);
            Assert.Equal(expected, await AllPagesAsync(api, $"number={Uri.EscapeDataString(prefix + "*")}&name=quentin%20z&{range}", limit: 3));
        }

        Assert.Equal(Naive(data.Rows, r => Name(r, "quentin z") && During(r)), await AllPagesAsync(api, $"name=quentin%20z&{range}", limit: 4));
    }

    [Fact]
    public async Task Calls_PrefixAsScopedUser_PagesEqualNaiveWithinScope()
    {
        var scope = data.Rows.Where(r => r.Calling.StartsWith("+177700", StringComparison.Ordinal)).Select(r => r.Calling).Distinct().Order(StringComparer.Ordinal).Take(2)
            .Append(data.Rows.First(r => r.Calling.StartsWith("+1888", StringComparison.Ordinal)).Calling).ToArray();
        bool InScope(Row r) => scope.Contains(r.Calling) || scope.Contains(r.Called);
        using var api = await SignedInAsync("prefix-scoped", scope);

        foreach (var prefix in new[] { "+177700", "+17770", "+1888" })
        {
            var expected = Naive(data.Rows, r => Number(r, prefix) && InScope(r)).ToList();
            Assert.NotEmpty(expected);
            Assert.Equal(expected, await AllPagesAsync(api, "number=" + Uri.EscapeDataString(prefix + "*"), limit: 2));
        }

        var byName = Naive(data.Rows, r => Name(r, "quentin z") && InScope(r)).ToList();
        Assert.NotEmpty(byName);
        Assert.Equal(byName, await AllPagesAsync(api, "name=quentin%20z", limit: 2));
    }

    [Fact]
    public async Task ExplainAsync_NamePrefix_ReadsOneNewestFirstRangePerValueNotAllMatches()
    {
        var services = data.Server.Services;
        var users = services.GetRequiredService<UserStore>();
        var user = (await users.LoadAccessAsync((await users.FindForLoginAsync("demo"))!.Value.Id))!;
        var plan = string.Join('\n', await services.GetRequiredService<CallSearch>().ExplainAsync(user, new CallSearchQuery(Name: "quentin z")));
        var rows = plan[plan.LastIndexOf("-- rows", StringComparison.Ordinal)..];
        Assert.Contains("-- values", plan, StringComparison.Ordinal);
        if (services.GetRequiredService<Database>().Kind == DbKind.Sqlite)
        {
            Assert.Contains("MERGE (UNION ALL)", rows, StringComparison.Ordinal);
            Assert.DoesNotContain("TEMP B-TREE", rows, StringComparison.Ordinal);
        }
        else
        {
            Assert.Contains("Function Scan on unnest", rows, StringComparison.Ordinal);
        }
    }
}
