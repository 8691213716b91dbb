using System.Diagnostics;
using System.Net;
using CallMedia.Auth;
using CallMedia.IntegrationTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace CallMedia.IntegrationTests;

/// <summary>
/// Sessions and rights are held in memory and the database's version of them is not read per request
/// (<see cref="AuthCache"/>): a change made through this node takes effect at its next request, one made by another
/// node or process within <c>Sessions:ChangePollInterval</c> (on PostgreSQL usually at once, by NOTIFY).
/// </summary>
public sealed class AuthChangeTests
{
    private const string Download = "id_call[]=1001&action=download";

    [Fact]
    public async Task ChangeMadeOnThisNode_TakesEffectAtItsNextRequest_HoweverLongThePollInterval()
    {
        await using var server = await TestServer.StartAsync("Sessions:ChangePollInterval=00:01:00");
        await server.AddUserAsync("ann", "pw-ann-1", ["downloader"]);
        var users = server.Services.GetRequiredService<UserStore>();
        var roles = server.Services.GetRequiredService<RoleStore>();
        using var client = server.CreateClient();
        var session = await CallRec.LoginAsync(client, "ann", "pw-ann-1");
        await SendOkAsync(client, session);

        // A right revoked, granted back, a role losing the right: each at the very next request.
        await users.RevokeAsync("ann", ["downloader"]);
        Assert.Equal(HttpStatusCode.Forbidden, (await CallRec.TokenAsync(client, session, Download)).Status);
        await users.GrantAsync("ann", ["downloader"]);
        await SendOkAsync(client, session);
        await roles.AddAsync("fetcher", [Rights.AudioDownload, Rights.VideoDownload]);
        await users.RevokeAsync("ann", ["downloader"]);
        await users.GrantAsync("ann", ["fetcher"]);
        await SendOkAsync(client, session);
        await roles.RevokeAsync("fetcher", [Rights.AudioDownload, Rights.VideoDownload]);
        Assert.Equal(HttpStatusCode.Forbidden, (await CallRec.TokenAsync(client, session, Download)).Status);
        await roles.GrantAsync("fetcher", [Rights.AudioDownload, Rights.VideoDownload]);
        var token = await CallRec.RequireTokenAsync(client, session, Download);

        // Disabled: the session is over at once.
        await users.SetDisabledAsync("ann", true);
        using (var response = await client.SendAsync(CallRec.Send(session, token)))
        {
            Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        }

        // Signed out: the same.
        await users.SetDisabledAsync("ann", false);
        var second = await CallRec.LoginAsync(client, "ann", "pw-ann-1");
        await SendOkAsync(client, second);
        using (var logout = await client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/callrec/logout").WithSession(second)))
        {
            Assert.True(logout.IsSuccessStatusCode || logout.StatusCode == HttpStatusCode.Found, logout.StatusCode.ToString());
        }

        Assert.Equal(HttpStatusCode.Found, (await CallRec.TokenAsync(client, second, Download)).Status);
    }

    [Fact]
    public async Task ChangeMadeByAnotherProcess_TakesEffectWithinThePollInterval()
    {
        var interval = TimeSpan.FromSeconds(1);
        await using var server = await TestServer.StartAsync($"Sessions:ChangePollInterval={interval}");
        await server.AddUserAsync("bob", "pw-bob-1", ["downloader"]);
        using var client = server.CreateClient();
        var session = await CallRec.LoginAsync(client, "bob", "pw-bob-1");
        await SendOkAsync(client, session);

        var (exit, _, error) = await server.CliAsync("", "user", "revoke", "bob", "downloader");
        Assert.True(exit == 0, error);
        var committed = Stopwatch.StartNew();
        await Task.Delay(interval + TimeSpan.FromMilliseconds(100) - committed.Elapsed);
        Assert.Equal(HttpStatusCode.Forbidden, (await CallRec.TokenAsync(client, session, Download)).Status);

        (exit, _, error) = await server.CliAsync("", "user", "disable", "bob");
        Assert.True(exit == 0, error);
        committed.Restart();
        await Task.Delay(interval + TimeSpan.FromMilliseconds(100) - committed.Elapsed);
        Assert.Equal(HttpStatusCode.Found, (await CallRec.TokenAsync(client, session, Download)).Status);
    }

    [Fact]
    public async Task ChangeMadeByAnotherProcess_OnPostgreSql_IsHeardWithoutWaitingForThePoll()
    {
        if (!TestDatabase.IsPostgres)
        {
            return;
        }

        await using var server = await TestServer.StartAsync("Sessions:ChangePollInterval=00:01:00");
        await server.AddUserAsync("cid", "pw-cid-1", ["downloader"]);
        using var client = server.CreateClient();
        var session = await CallRec.LoginAsync(client, "cid", "pw-cid-1");
        await SendOkAsync(client, session);

        var (exit, _, error) = await server.CliAsync("", "user", "revoke", "cid", "downloader");
        Assert.True(exit == 0, error);
        var heard = Stopwatch.StartNew();
        while ((await CallRec.TokenAsync(client, session, Download)).Status != HttpStatusCode.Forbidden)
        {
            Assert.True(heard.Elapsed < TimeSpan.FromSeconds(10), "the revocation was not heard within 10 s (the poll is a minute)");
            await Task.Delay(20);
        }
    }

    private static async Task SendOkAsync(HttpClient client, string session)
    {
        var token = await CallRec.RequireTokenAsync(client, session, Download);
        using var response = await client.SendAsync(CallRec.Send(session, token));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
