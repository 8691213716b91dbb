using CallMedia.Auth;
using CallMedia.Calls;
using CallMedia.Data;
using CallMedia.IntegrationTests.Infrastructure;
using Dapper;
using Microsoft.Extensions.DependencyInjection;

namespace CallMedia.IntegrationTests;

/// <summary>
/// Call search on the real server's database (SQLite, or PostgreSQL with CALLMEDIA_TEST_DATABASE=postgres), over the
/// demo data plus couples each test inserts in a year of its own, so tests never see each other's couples.
/// </summary>
public sealed class CallSearchTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private CallSearch Search => fixture.Server.Services.GetRequiredService<CallSearch>();

    private static DateTimeOffset Year(int year) => new(year, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Inserts a couple the way today's importer does: without the folded name columns.</summary>
    private async Task<long> InsertAsync(DateTimeOffset start, string calling, string called, string callingName = "", string calledName = "", long types = MediaType.Audio, int seconds = 60)
    {
        var db = fixture.Server.Services.GetRequiredService<Database>();
        await using var connection = await db.OpenAsync();
        return await connection.ExecuteScalarAsync<long>(
            """
            INSERT INTO couples (sid, start_at, stop_at, calling_number, calling_name, called_number, called_name, types)
            VALUES (@sid, @start, @stop, @calling, @callingName, @called, @calledName, @types) RETURNING id
            """,
            new { sid = "search-" + Guid.NewGuid().ToString("N"), start = start.ToUnixTimeMilliseconds(), stop = start.AddSeconds(seconds).ToUnixTimeMilliseconds(), calling, callingName, called, calledName, types });
    }

    private async Task<UserAccess> UserAsync(string[]? scope = null)
    {
        var name = "searcher-" + Guid.NewGuid().ToString("N")[..12];
        await fixture.Server.AddUserAsync(name, "search-password", ["listener"], scope);
        var users = fixture.Server.Services.GetRequiredService<UserStore>();
        return (await users.LoadAccessAsync((await users.FindForLoginAsync(name))!.Value.Id))!;
    }

    private static IEnumerable<long> Ids(CallSearchPage page) => page.Items.Select(c => c.Id);

    [Fact]
    public async Task SearchAsync_NameInOtherCaseAndWithoutAccents_FindsEitherPartyNewestFirst()
    {
        var t = Year(2031);
        var calling = await InsertAsync(t.AddHours(1), "+1555000101", "+1555000102", callingName: "Jiří Dvořák");
        var called = await InsertAsync(t.AddHours(2), "+1555000103", "+1555000104", calledName: "JIŘÍ  Nováková");
        await InsertAsync(t.AddHours(3), "+1555000105", "+1555000106", callingName: "Jana Jiříková");
        var user = await UserAsync();

        var page = await Search.SearchAsync(user, new CallSearchQuery(From: t, To: t.AddYears(1), Name: "jiri"));
        Assert.Equal([called, calling], Ids(page));
        Assert.Equal([called], Ids(await Search.SearchAsync(user, new CallSearchQuery(From: t, To: t.AddYears(1), Name: "Jiri Novak"))));
        Assert.Empty((await Search.SearchAsync(user, new CallSearchQuery(From: t, To: t.AddYears(1), Name: "novak"))).Items);
    }

    [Fact]
    public async Task SearchAsync_ScopedUser_SeesOnlyCallsWithOneOfTheirNumbers()
    {
        var t = Year(2032);
        var asCaller = await InsertAsync(t.AddHours(1), "+1555000201", "+1555000299");
        var asCalled = await InsertAsync(t.AddHours(2), "+1555000298", "+1555000201");
        var other = await InsertAsync(t.AddHours(3), "+1555000298", "+1555000299", callingName: "Hidden Person");
        var scoped = await UserAsync(["+1555000201"]);
        var nobody = await UserAsync(["+1999999999"]);
        var everyone = await UserAsync();
        var year = new CallSearchQuery(From: t, To: t.AddYears(1));

        Assert.Equal([asCalled, asCaller], Ids(await Search.SearchAsync(scoped, year)));
        Assert.Equal([asCaller], Ids(await Search.SearchAsync(scoped, year with { Number = "+1555000299" })));
        Assert.Empty((await Search.SearchAsync(scoped, year with { Name = "hidden" })).Items);
        Assert.Empty((await Search.SearchAsync(nobody, year)).Items);
        Assert.DoesNotContain((await Search.SearchAsync(scoped, new CallSearchQuery(Limit: 500))).Items, c => c.CallingNumber != "+1555000201" && c.CalledNumber != "+1555000201");
        Assert.Equal([other, asCalled, asCaller], Ids(await Search.SearchAsync(everyone, year)));
    }

    [Fact]
    public async Task SearchAsync_FollowingCursors_VisitsEveryCoupleOnceInOrder_WhileNewCouplesArrive()
    {
        var t = Year(2033);
        var inserted = new List<(long Start, long Id)>();
        for (var i = 0; i < 23; i++)
        {
            // Ties on start time: the order falls back to the id, and a page may end in the middle of a tie.
            var start = t.AddMinutes(i / 4);
            inserted.Add((start.ToUnixTimeMilliseconds(), await InsertAsync(start, "+1555000301", "+1555000302")));
        }

        var user = await UserAsync();
        var query = new CallSearchQuery(From: t, To: t.AddYears(1), Number: "+1555000301", Limit: 5);
        var seen = new List<long>();
        var page = await Search.SearchAsync(user, query);
        var pages = 1;
        seen.AddRange(Ids(page));
        while (page.NextCursor is { } cursor)
        {
            // Newer couples arriving between pages do not move the pages that follow.
            await InsertAsync(t.AddDays(10 + pages), "+1555000301", "+1555000302");
            page = await Search.SearchAsync(user, query with { Cursor = cursor });
            seen.AddRange(Ids(page));
            pages++;
        }

        Assert.Equal(5, pages);
        Assert.Equal(inserted.OrderByDescending(c => c.Start).ThenByDescending(c => c.Id).Select(c => c.Id), seen);
    }

    [Fact]
    public async Task SearchAsync_TamperedOrForeignCursor_IsRejected()
    {
        var t = Year(2034);
        for (var i = 0; i < 3; i++)
        {
            await InsertAsync(t.AddMinutes(i), "+1555000401", "+1555000402");
        }

        var user = await UserAsync();
        var query = new CallSearchQuery(From: t, To: t.AddYears(1), Limit: 1);
        var cursor = (await Search.SearchAsync(user, query)).NextCursor!;
        var tampered = cursor[..10] + (cursor[10] == 'x' ? 'y' : 'x') + cursor[11..];

        Assert.NotNull((await Search.SearchAsync(user, query with { Cursor = cursor, Limit = 2 })).Items);
        await Assert.ThrowsAsync<InvalidSearchException>(() => Search.SearchAsync(user, query with { Cursor = tampered }));
        await Assert.ThrowsAsync<InvalidSearchException>(() => Search.SearchAsync(user, query with { Cursor = cursor, Number = "+1555000401" }));
        await Assert.ThrowsAsync<InvalidSearchException>(async () => await Search.SearchAsync(await UserAsync(), query with { Cursor = cursor }));
        await Assert.ThrowsAsync<InvalidSearchException>(() => Search.SearchAsync(user, query with { Limit = 501 }));
        await Assert.ThrowsAsync<InvalidSearchException>(() => Search.SearchAsync(user, query with { Limit = 0 }));
        await Assert.ThrowsAsync<InvalidSearchException>(() => Search.SearchAsync(user, query with { From = t.AddYears(1), To = t }));
    }

    [Fact]
    public async Task SearchAsync_NumberPrefixSidMediaAndDuration_EachNarrowTheResult()
    {
        var t = Year(2035);
        var audio = await InsertAsync(t.AddHours(1), "+1555000501", "+4420000001", seconds: 30);
        var video = await InsertAsync(t.AddHours(2), "+1555000502", "+4420000002", types: MediaType.Audio | MediaType.Video, seconds: 300);
        var unmixed = await InsertAsync(t.AddHours(3), "+1555000603", "+4420000003", types: MediaType.Audio | MediaType.Recd, seconds: 600);
        var mixed = await InsertAsync(t.AddHours(4), "+1555000604", "+4420000004", types: MediaType.Audio | MediaType.Video | MediaType.Recd, seconds: 900);
        var user = await UserAsync();
        var year = new CallSearchQuery(From: t, To: t.AddYears(1));

        Assert.Equal([video, audio], Ids(await Search.SearchAsync(user, year with { Number = "+155500050*" })));
        Assert.Equal([mixed, unmixed], Ids(await Search.SearchAsync(user, year with { Number = "+44200000*", From = t.AddHours(3) })));
        Assert.Empty((await Search.SearchAsync(user, year with { Number = "+155500050" })).Items);
        Assert.Equal([mixed, video], Ids(await Search.SearchAsync(user, year with { Has = MediaPresence.Video })));
        Assert.Equal([unmixed], Ids(await Search.SearchAsync(user, year with { Has = MediaPresence.Unmixed })));
        Assert.Equal([mixed, unmixed, video, audio], Ids(await Search.SearchAsync(user, year with { Has = MediaPresence.Audio })));
        Assert.Equal([unmixed, video], Ids(await Search.SearchAsync(user, year with { MinDuration = TimeSpan.FromMinutes(5), MaxDuration = TimeSpan.FromMinutes(10) })));
        var sid = (await fixture.Server.Services.GetRequiredService<CallStore>().GetCouplesAsync([video]))[video].Sid;
        Assert.Equal([video], Ids(await Search.SearchAsync(user, new CallSearchQuery(Sid: sid))));
    }

    [Fact]
    public async Task SearchAsync_DemoData_PagesThroughEveryDemoCoupleInScope()
    {
        var user = await UserAsync();
        var all = new List<Couple>();
        string? cursor = null;
        var to = Year(2030);
        do
        {
            var page = await Search.SearchAsync(user, new CallSearchQuery(To: to, Limit: 7, Cursor: cursor));
            all.AddRange(page.Items);
            cursor = page.NextCursor;
        }
        while (cursor is not null);

        var db = fixture.Server.Services.GetRequiredService<Database>();
        await using var connection = await db.OpenAsync();
        var expected = (await connection.QueryAsync<long>("SELECT id FROM couples WHERE start_at < @to ORDER BY start_at DESC, id DESC", new { to = to.ToUnixTimeMilliseconds() })).ToList();
        Assert.NotEmpty(expected);
        Assert.Equal(expected, all.Select(c => c.Id));
    }
}
