using System.Net;
using System.Text;
using CallMedia.Auth;
using CallMedia.Calls;
using CallMedia.Data;
using CallMedia.IntegrationTests.Infrastructure;
using Dapper;
using Microsoft.Extensions.DependencyInjection;

namespace CallMedia.IntegrationTests;

/// <summary>Throttling, exactly-once redemption under load, rate limits, and what a log may hold.</summary>
public sealed class SecurityTests
{
    private static async Task<bool> SignInAsync(HttpClient client, string name, string password, string? from = null)
    {
        using var response = await SignInResponseAsync(client, name, password, from);
        return (await response.Content.ReadAsStringAsync()).Contains("Access is authorized.", StringComparison.Ordinal);
    }

    /// <summary>A sign-in; with <paramref name="from"/>, as a client at that address behind the configured proxy.</summary>
    private static Task<HttpResponseMessage> SignInResponseAsync(HttpClient client, string name, string password, string? from = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/callrec/loginservlet?loginname={name}&password={password}");
        if (from is not null)
        {
            request.Headers.Add("X-Forwarded-For", from);
        }

        return client.SendAsync(request);
    }

    [Fact]
    public async Task DemoPassword_OnlyForALoopbackClientNamingALoopbackHost()
    {
        // Bound to loopback, behind a proxy on loopback: the internet's clients arrive forwarded, and a page of another
        // site can reach 127.0.0.1 under its own name (DNS rebinding). Neither signs in with the well-known password.
        await using var server = await TestServer.StartAsync("Hosting:KnownProxies:0=127.0.0.1");
        using var client = server.CreateClient();
        Assert.False(await SignInAsync(client, DemoAccount.User, DemoAccount.LoopbackPassword, "203.0.113.5"));
        using (var rebound = new HttpRequestMessage(HttpMethod.Get, $"/callrec/loginservlet?loginname=demo&password={DemoAccount.LoopbackPassword}"))
        {
            rebound.Headers.Host = $"rebind.attacker.test:{server.BaseAddress.Port}";
            using var answer = await client.SendAsync(rebound);
            Assert.DoesNotContain("Access is authorized.", await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var api = new HttpRequestMessage(HttpMethod.Post, "/api/v1/session"))
        {
            api.Headers.Host = $"rebind.attacker.test:{server.BaseAddress.Port}";
            api.Headers.Add("Origin", $"http://rebind.attacker.test:{server.BaseAddress.Port}");
            api.Content = new StringContent($"{{\"loginName\":\"demo\",\"password\":\"{DemoAccount.LoopbackPassword}\"}}", Encoding.UTF8, "application/json");
            using var answer = await client.SendAsync(api);
            Assert.Equal(HttpStatusCode.Unauthorized, answer.StatusCode);
        }

        // From this machine, to a loopback name: as documented.
        Assert.True(await SignInAsync(client, DemoAccount.User, DemoAccount.LoopbackPassword));
        using (var local = new HttpRequestMessage(HttpMethod.Get, $"/callrec/loginservlet?loginname=demo&password={DemoAccount.LoopbackPassword}"))
        {
            local.Headers.Host = $"localhost:{server.BaseAddress.Port}";
            using var answer = await client.SendAsync(local);
            Assert.Contains("Access is authorized.", await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task FailedLogins_ThrottleThePairWithGrowingDelay_ThenRelease()
    {
        await using var server = await TestServer.StartAsync(
            "Login:FreeFailuresPerNameAndAddress=3", "Login:BaseDelay=00:00:10", "Login:MaxDelay=00:01:00", "Login:ForgetAfter=01:00:00");
        await server.AddUserAsync("victim", "right-password", ["listener"]);
        using var client = server.CreateClient();

        for (var i = 0; i < 3; i++)
        {
            Assert.False(await SignInAsync(client, "victim", "wrong-" + i));
        }

        // Inside the wait even the right password is refused, without being checked, and the answer says so.
        using (var throttled = await SignInResponseAsync(client, "victim", "right-password"))
        {
            Assert.Equal((HttpStatusCode)429, throttled.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(10), throttled.Headers.RetryAfter?.Delta);
            Assert.Equal(
                CallRec.Declaration + "<error number=\"14\">Too many failed sign-ins; try again in 10 s.</error>",
                await throttled.Content.ReadAsStringAsync());
        }

        server.Clock.Advance(TimeSpan.FromSeconds(11));
        Assert.False(await SignInAsync(client, "victim", "wrong-again"));
        server.Clock.Advance(TimeSpan.FromSeconds(11));
        Assert.False(await SignInAsync(client, "victim", "right-password")); // the wait doubled to 20 s
        server.Clock.Advance(TimeSpan.FromSeconds(20)); // and that attempt started it again
        Assert.True(await SignInAsync(client, "victim", "right-password"));

        // Success cleared the pair's count: three fresh failures are allowed again.
        for (var i = 0; i < 3; i++)
        {
            Assert.False(await SignInAsync(client, "victim", "wrong-" + i));
        }

        // However many failures, the wait is capped: the user is slowed, never locked out for good.
        for (var i = 0; i < 20; i++)
        {
            server.Clock.Advance(TimeSpan.FromMinutes(1));
            Assert.False(await SignInAsync(client, "victim", "wrong-" + i));
        }

        server.Clock.Advance(TimeSpan.FromSeconds(61));
        Assert.True(await SignInAsync(client, "victim", "right-password"));
    }

    [Fact]
    public async Task FailedLogins_FromOneAddress_DoNotLockOutTheRightPasswordFromAnother()
    {
        await using var server = await TestServer.StartAsync(
            "Hosting:KnownProxies:0=127.0.0.1", "Login:FreeFailuresPerNameAndAddress=3", "Login:FreeFailuresPerName=5", "Login:BaseDelay=00:05:00");
        await server.AddUserAsync("victim", "right-password", ["listener"]);
        using var client = server.CreateClient();
        foreach (var attacker in new[] { "198.51.100.7", "198.51.100.8" })
        {
            for (var i = 0; i < 10; i++)
            {
                (await SignInResponseAsync(client, "victim", "guess-" + i, attacker)).Dispose();
            }
        }

        Assert.False(await SignInAsync(client, "victim", "right-password", "198.51.100.7"));
        Assert.True(await SignInAsync(client, "victim", "right-password", "203.0.113.20"));

        // Past the name's brake, an address that failed for the name itself is held back even below its own count.
        Assert.False(await SignInAsync(client, "victim", "wrong", "203.0.113.30"));
        Assert.False(await SignInAsync(client, "victim", "right-password", "203.0.113.30"));
        Assert.True(await SignInAsync(client, "victim", "right-password", "203.0.113.40"));
    }

    [Fact]
    public async Task FailedLogins_ConcurrentGuessesBeyondTheFreeCount_AreRefusedUnchecked()
    {
        await using var server = await TestServer.StartAsync("Login:FreeFailuresPerNameAndAddress=3", "Login:BaseDelay=00:05:00");
        await server.AddUserAsync("victim", "right-password", ["listener"]);
        using var client = server.CreateClient();
        var statuses = await Task.WhenAll(Enumerable.Range(0, 40).Select(async i =>
        {
            using var response = await SignInResponseAsync(client, "victim", "guess-" + i);
            return response.StatusCode;
        }));

        Assert.Equal(3, statuses.Count(s => s == HttpStatusCode.OK)); // checked and denied
        Assert.Equal(37, statuses.Count(s => s == (HttpStatusCode)429));
    }

    [Fact]
    public async Task FailedLogins_FromOneAddress_ThrottleEveryName()
    {
        await using var server = await TestServer.StartAsync("Login:FreeFailuresPerAddress=5", "Login:BaseDelay=00:00:30");
        using var client = server.CreateClient();
        for (var i = 0; i < 5; i++)
        {
            Assert.False(await SignInAsync(client, "sprayed-" + i, "guess"));
        }

        Assert.False(await SignInAsync(client, "demo", "demo"));
        server.Clock.Advance(TimeSpan.FromSeconds(31));
        Assert.True(await SignInAsync(client, "demo", "demo"));
    }

    [Fact]
    public async Task Redemption_1000TokensTimes10ConcurrentRequests_ExactlyOneSuccessEach()
    {
        await using var server = await TestServer.StartAsync();
        var file = Path.Combine(Path.GetTempPath(), $"tiny-{Guid.NewGuid():N}.mp3");
        await File.WriteAllBytesAsync(file, new byte[512]);
        try
        {
            var id = (await server.SeedAsync([[TestData.FileOf(MediaType.Audio, file)]]))[0];
            using var client = server.CreateClient();
            var session = await CallRec.LoginAsync(client);
            var tokens = new List<string>();
            for (var i = 0; i < 1000; i++)
            {
                tokens.Add(await CallRec.RequireTokenAsync(client, session, $"id_call[]={id}&action=download"));
            }

            var successes = 0;
            var forbidden = 0;
            await Parallel.ForEachAsync(
                tokens.SelectMany(t => Enumerable.Repeat(t, 10)).OrderBy(_ => Random.Shared.Next()),
                new ParallelOptions { MaxDegreeOfParallelism = 32 },
                async (token, ct) =>
                {
                    using var response = await client.SendAsync(CallRec.Send(session, token), ct);
                    var body = await response.Content.ReadAsByteArrayAsync(ct);
                    if (response.StatusCode == HttpStatusCode.OK && body.Length == 512)
                    {
                        Interlocked.Increment(ref successes);
                    }
                    else if (response.StatusCode == HttpStatusCode.Forbidden)
                    {
                        Interlocked.Increment(ref forbidden);
                    }
                });

            Assert.Equal(1000, successes);
            Assert.Equal(9000, forbidden);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Tokens_PastThePerMinuteLimit_Get429UntilTheMinutePasses()
    {
        await using var server = await TestServer.StartAsync("Tokens:MaxPerSessionPerMinute=5");
        using var client = server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        for (var i = 0; i < 5; i++)
        {
            await CallRec.RequireTokenAsync(client, session, "id_call[]=1001");
        }

        Assert.Equal((HttpStatusCode)429, (await CallRec.TokenAsync(client, session, "id_call[]=1001")).Status);
        server.Clock.Advance(TimeSpan.FromSeconds(61));
        await CallRec.RequireTokenAsync(client, session, "id_call[]=1001");
    }

    [Fact]
    public async Task SessionCookie_IsSecureOnlyBehindAConfiguredHttpsProxy()
    {
        await using var plain = await TestServer.StartAsync();
        await using var proxied = await TestServer.StartAsync("Hosting:KnownProxies:0=127.0.0.1");

        async Task<string> CookieAsync(TestServer server)
        {
            using var client = server.CreateClient();
            using var request = new HttpRequestMessage(HttpMethod.Get, "/callrec/loginservlet?loginname=demo&password=demo");
            request.Headers.Add("X-Forwarded-Proto", "https");
            using var response = await client.SendAsync(request);
            return response.Headers.GetValues("Set-Cookie").Single();
        }

        Assert.DoesNotContain("secure", await CookieAsync(plain), StringComparison.OrdinalIgnoreCase);
        Assert.Contains("secure", await CookieAsync(proxied), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task MediaPathOutsideTheRoots_IsNeverOpened()
    {
        await using var server = await TestServer.StartAsync();
        var db = server.Services.GetRequiredService<Database>();
        await using (var connection = await db.OpenAsync())
        {
            await connection.ExecuteAsync("UPDATE media_files SET path = '../../../../../etc/passwd' WHERE couple_id = 1001");
            await connection.ExecuteAsync("UPDATE media_files SET path = '/etc/passwd' WHERE couple_id = 1002");
        }

        using var client = server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        foreach (var id in new[] { 1001, 1002 })
        {
            var token = await CallRec.RequireTokenAsync(client, session, $"id_call[]={id}&action=download");
            using var response = await client.SendAsync(CallRec.Send(session, token));
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.DoesNotContain("root:", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task CoupleAndFilesChangedByAnotherWriter_AfterTheyWereDelivered_TheNextRedemptionSeesTheChange()
    {
        // Redemptions keep copies of couples and their files, exact against the media version the triggers raise: a
        // change written past this node (a hand-written statement here) is seen by the very next redemption.
        await using var server = await TestServer.StartAsync();
        using var client = server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        async Task<HttpResponseMessage> RedeemAsync(long id) =>
            await client.SendAsync(CallRec.Send(session, await CallRec.RequireTokenAsync(client, session, $"id_call[]={id}&action=download")));

        foreach (var id in new[] { 1001, 1002 })
        {
            using var first = await RedeemAsync(id);
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
            using var again = await RedeemAsync(id);
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        }

        var db = server.Services.GetRequiredService<Database>();
        await using (var connection = await db.OpenAsync())
        {
            await connection.ExecuteAsync("UPDATE media_files SET path = '/etc/passwd' WHERE couple_id = 1001");
            await connection.ExecuteAsync("DELETE FROM media_files WHERE couple_id = 1002");
        }

        using var moved = await RedeemAsync(1001);
        Assert.Equal(HttpStatusCode.NotFound, moved.StatusCode);
        Assert.DoesNotContain("root:", await moved.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var gone = await RedeemAsync(1002);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task Logs_OfTheWholeRun_HoldNoTokenSessionOrPassword()
    {
        // A flow of its own at the most verbose level, touching every endpoint and error path...
        await using var server = await TestServer.StartAsync("Logging:LogLevel:Default=Trace");
        await server.AddUserAsync("log-probe", "log-probe-password", ["supervisor"]);
        using var client = server.CreateClient();
        Assert.False(await SignInAsync(client, "log-probe", "wrong-password-in-clear"));
        LogSink.Shared.AddSecret("wrong-password-in-clear");
        var session = await CallRec.LoginAsync(client, "log-probe", "log-probe-password");
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1001,1002&action=download");
        (await client.SendAsync(CallRec.Send(session, token, "zip"))).Dispose();
        using (var range = CallRec.Send(session, token, "zip"))
        {
            range.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(0, 99);
            (await client.SendAsync(range)).Dispose();
        }

        (await client.SendAsync(CallRec.Send(session, token))).Dispose(); // reused: 403
        using (var cookie = new HttpRequestMessage(HttpMethod.Post, "/callrec/sendcallfile.mp3").WithSession(session))
        {
            cookie.Content = new FormUrlEncodedContent([new("token", token)]);
            (await client.SendAsync(cookie)).Dispose();
        }

        (await client.GetAsync($"/callrec/sendcallfile.mp3;jsessionid=BADBADBADBADBADBADBADBADBADBAD00?token={token}")).Dispose();
        await server.CliAsync("cli-password-secret\n", "user", "add", "log-probe-2", "--role", "listener");
        await server.FlushAuditAsync();

        // ...then everything logged so far in this run, by every test server, is searched for every secret seen.
        var lines = LogSink.Shared.Lines.ToList();
        var secrets = LogSink.Shared.Secrets.ToList();
        Assert.NotEmpty(lines);
        Assert.Contains(session, secrets);
        Assert.Contains(token, secrets);
        foreach (var secret in secrets)
        {
            var leak = lines.FirstOrDefault(l => l.Contains(secret, StringComparison.OrdinalIgnoreCase));
            Assert.True(leak is null, $"a secret reached the log: {leak}");
        }
    }
}
