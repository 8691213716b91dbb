using System.Net;
using CallMedia.IntegrationTests.Infrastructure;

namespace CallMedia.IntegrationTests;

/// <summary>Session and token expiry, driven by the server's clock.</summary>
public sealed class ExpiryTests
{
    [Fact]
    public async Task IdleSession_Expires_Returns302()
    {
        await using var server = await TestServer.StartAsync("Sessions:IdleTimeout=00:30:00");
        using var client = server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1001");

        server.Clock.Advance(TimeSpan.FromMinutes(20));
        Assert.Equal(HttpStatusCode.OK, (await CallRec.TokenAsync(client, session, "id_call[]=1001")).Status);

        server.Clock.Advance(TimeSpan.FromMinutes(31));
        using var response = await client.SendAsync(CallRec.Send(session, token));
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.StartsWith("/callrec/?return=", response.Headers.Location!.OriginalString, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ActiveSession_EndsAtMaxLifetime()
    {
        await using var server = await TestServer.StartAsync("Sessions:IdleTimeout=00:30:00", "Sessions:MaxLifetime=01:00:00");
        using var client = server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        for (var i = 0; i < 3; i++)
        {
            server.Clock.Advance(TimeSpan.FromMinutes(15));
            Assert.Equal(HttpStatusCode.OK, (await CallRec.TokenAsync(client, session, "id_call[]=1001")).Status);
        }

        // 65 minutes after sign-in, 20 minutes idle: past the absolute lifetime only.
        server.Clock.Advance(TimeSpan.FromMinutes(20));
        Assert.Equal(HttpStatusCode.Found, (await CallRec.TokenAsync(client, session, "id_call[]=1001")).Status);
    }

    [Fact]
    public async Task UnusedToken_ExpiresAfterLifetime()
    {
        await using var server = await TestServer.StartAsync("Tokens:Lifetime=00:10:00");
        using var client = server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1001");
        server.Clock.Advance(TimeSpan.FromMinutes(11));
        await CallRec.TokenAsync(client, session, "id_call[]=1001"); // keeps the session alive
        using var response = await client.SendAsync(CallRec.Send(session, token));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task RangeLease_Zero_MakesTokensStrictlySingleUse()
    {
        await using var server = await TestServer.StartAsync("Tokens:RangeLease=00:00:00");
        using var client = server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1001");
        using (var first = await client.SendAsync(CallRec.Send(session, token)))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        using var ranged = CallRec.Send(session, token);
        ranged.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(0, 99);
        using var response = await client.SendAsync(ranged);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task RangeLease_EndsAfterConfiguredTime()
    {
        await using var server = await TestServer.StartAsync("Tokens:RangeLease=00:05:00");
        using var client = server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1001");
        (await client.SendAsync(CallRec.Send(session, token))).Dispose();

        server.Clock.Advance(TimeSpan.FromMinutes(4));
        using (var inLease = CallRec.Send(session, token))
        {
            inLease.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(0, 99);
            using var response = await client.SendAsync(inLease);
            Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        }

        server.Clock.Advance(TimeSpan.FromMinutes(2));
        using var late = CallRec.Send(session, token);
        late.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(0, 99);
        using var lateResponse = await client.SendAsync(late);
        Assert.Equal(HttpStatusCode.Forbidden, lateResponse.StatusCode);
    }
}
