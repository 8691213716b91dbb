using System.Net;
using CallMedia.IntegrationTests.Infrastructure;

namespace CallMedia.IntegrationTests;

/// <summary>/api/v1 sign-in, sign-out and <c>me</c>, on the same sessions as the CallREC paths.</summary>
public sealed class ApiSessionTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer Server => fixture.Server;

    [Fact]
    public async Task SignIn_RightPassword_SetsRootCookieAndAnswersMe()
    {
        using var api = await ApiClient.CreateAsync(Server);
        var me = await api.SignInAsync();

        Assert.Equal("demo", me.GetProperty("name").GetString());
        Assert.Equal("all", me.GetProperty("scope").GetString());
        Assert.Equal(["audio.stream", "audio.download", "video.stream", "video.download", "video.prepare"], me.GetProperty("rights").EnumerateArray().Select(r => r.GetString()));
        Assert.False(me.GetProperty("requireReason").GetBoolean());
        var expires = me.GetProperty("sessionExpiresAt").GetDateTimeOffset();
        Assert.InRange(expires - Server.Clock.GetUtcNow(), TimeSpan.FromMinutes(29), TimeSpan.FromMinutes(31));
        var again = await api.GetAsync("/api/v1/me");
        Assert.Equal("demo", again.Json.GetProperty("name").GetString());
        Assert.True(again.Headers.CacheControl?.NoStore, "a user's own data is not kept by browsers or proxies");
        Assert.True((await api.GetAsync("/api/v1/calls?limit=1")).Headers.CacheControl?.NoStore);
        Assert.True((await api.GetAsync("/api/v1/calls?limit=0")).Headers.CacheControl?.NoStore); // a problem answer too
    }

    [Theory]
    [InlineData("demo", "wrong-password")]
    [InlineData("nobody-at-all", "demo")]
    [InlineData("demo", "")]
    public async Task SignIn_WrongNameOrPassword_Answers401AccessDenied(string name, string password)
    {
        using var api = await ApiClient.CreateAsync(Server);
        var response = await api.PostAsync("/api/v1/session", new { loginName = name, password });

        Assert.Equal(HttpStatusCode.Unauthorized, response.Status);
        Assert.Equal("Access denied.", response.Detail);
        Assert.False(response.Headers.Contains("Set-Cookie"));
    }

    [Theory]
    [InlineData("{\"loginName\":\"demo\",\"password\":\"demo\",\"remember\":true}", "remember")]
    [InlineData("{\"loginName\":\"demo\"}", "password")]
    [InlineData("{\"loginName\":\"demo\",\"password\":7}", "password")]
    [InlineData("not json", "JSON")]
    public async Task SignIn_MalformedBody_Answers400SayingWhat(string body, string named)
    {
        using var api = await ApiClient.CreateAsync(Server);
        var response = await api.PostAsync("/api/v1/session", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Contains(named, response.Detail, StringComparison.Ordinal);
        Assert.False(response.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task SignIn_Throttled_Answers429WithRetryAfter()
    {
        await using var server = await TestServer.StartAsync("Login:FreeFailuresPerNameAndAddress=2", "Login:BaseDelay=00:00:30");
        using var api = await ApiClient.CreateAsync(server);
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await api.PostAsync("/api/v1/session", new { loginName = "demo", password = "nope-" + i })).Status);
        }

        var throttled = await api.PostAsync("/api/v1/session", new { loginName = "demo", password = "demo" });

        Assert.Equal(HttpStatusCode.TooManyRequests, throttled.Status);
        var retry = throttled.Headers.RetryAfter!.Delta!.Value;
        Assert.InRange(retry.TotalSeconds, 1, 30);
        Assert.Equal($"Too many failed sign-ins; try again in {(int)retry.TotalSeconds} s.", throttled.Detail);
    }

    [Theory]
    [InlineData("/api/v1/me")]
    [InlineData("/api/v1/calls")]
    [InlineData("/api/v1/calls/1001")]
    [InlineData("/api/v1/audit")]
    public async Task Get_WithoutSession_Answers401ProblemNeverRedirect(string path)
    {
        using var api = await ApiClient.CreateAsync(Server);
        var response = await api.GetAsync(path);

        Assert.Equal(HttpStatusCode.Unauthorized, response.Status);
        Assert.Null(response.Headers.Location);
    }

    [Fact]
    public async Task SignOut_EndsSessionAndItsUnusedTokens()
    {
        using var api = await ApiClient.CreateAsync(Server);
        await api.SignInAsync();
        var token = (await api.PostAsync("/api/v1/tokens", new { ids = ApiClient.Ids(1001) })).Json.GetProperty("token").GetString()!;
        LogSink.Shared.AddSecret(token);

        var signOut = await api.SendAsync(HttpMethod.Delete, "/api/v1/session");

        Assert.Equal(HttpStatusCode.NoContent, signOut.Status);
        Assert.Contains(signOut.Headers.GetValues("Set-Cookie"), c => c.StartsWith("JSESSIONID=;", StringComparison.Ordinal) && c.Contains("path=/", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.Unauthorized, (await api.GetAsync("/api/v1/me")).Status);
        using var send = await api.Http.SendAsync(CallRec.Send(api.Session!, token));
        Assert.Equal(HttpStatusCode.Found, send.StatusCode);
    }

    [Fact]
    public async Task Session_TwoSessionCookies_TheLiveOneIsUsedWhicheverComesFirst()
    {
        using var api = await ApiClient.CreateAsync(Server);
        await api.SignInAsync();
        var live = api.Session!;
        using var client = Server.CreateClient();
        var stale = await CallRec.LoginAsync(client);
        using (var logout = new HttpRequestMessage(HttpMethod.Post, "/callrec/logout").WithSession(stale))
        {
            Assert.Equal(HttpStatusCode.NoContent, (await client.SendAsync(logout)).StatusCode);
        }

        foreach (var cookie in (string[])[$"JSESSIONID={stale}; JSESSIONID={live}", $"JSESSIONID={live}; JSESSIONID={stale}"])
        {
            api.Session = null;
            var me = await api.SendAsync(HttpMethod.Get, "/api/v1/me", customize: r => r.Headers.Add("Cookie", cookie));
            Assert.Equal(HttpStatusCode.OK, me.Status);

            using var tokenRequest = new HttpRequestMessage(HttpMethod.Get, "/callrec/downloadtoken?id_call[]=1001");
            tokenRequest.Headers.Add("Cookie", cookie);
            using var token = await client.SendAsync(tokenRequest);
            Assert.Equal(HttpStatusCode.OK, token.StatusCode);
        }
    }

    [Fact]
    public async Task Send_TwoLiveSessionCookies_RedeemsWithTheSessionTheTokenIsBoundTo()
    {
        // A browser signed in through /callrec (cookie path /callrec) and through the web app (path /) sends both
        // cookies to /callrec, the /callrec one first; the web app's player asks for tokens with the other.
        using var api = await ApiClient.CreateAsync(Server);
        await api.SignInAsync();
        var web = api.Session!;
        using var client = Server.CreateClient();
        var callrec = await CallRec.LoginAsync(client);
        foreach (var (bound, cookie) in new[] { (web, $"JSESSIONID={callrec}; JSESSIONID={web}"), (callrec, $"JSESSIONID={web}; JSESSIONID={callrec}") })
        {
            string url;
            if (bound == web)
            {
                var issued = await api.PostAsync("/api/v1/tokens", new { ids = ApiClient.Ids(1003), type = 1, action = "stream" });
                Assert.Equal(HttpStatusCode.Created, issued.Status);
                url = issued.Json.GetProperty("url").GetString()!;
            }
            else
            {
                url = $"/callrec/sendcallfile.mp3?token={await CallRec.RequireTokenAsync(client, callrec, "id_call[]=1003")}";
            }

            using var send = new HttpRequestMessage(HttpMethod.Get, url);
            send.Headers.Add("Cookie", cookie);
            using var answer = await client.SendAsync(send);
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            Assert.True((await answer.Content.ReadAsByteArrayAsync()).Length > 1000);
        }

        // A token neither session holds is still refused, and recorded once.
        using var bad = new HttpRequestMessage(HttpMethod.Get, "/callrec/sendcallfile.mp3?token=AbCdEfGhIjKlMnOpQrSt");
        bad.Headers.Add("Cookie", $"JSESSIONID={callrec}; JSESSIONID={web}");
        Assert.Equal(HttpStatusCode.Forbidden, (await client.SendAsync(bad)).StatusCode);
    }

    [Fact]
    public async Task Post_CrossSiteOrNotJson_IsRefusedAndChangesNothing()
    {
        using var api = await ApiClient.CreateAsync(Server);
        await api.SignInAsync();

        var crossSite = await api.SendAsync(HttpMethod.Post, "/api/v1/tokens", new { ids = ApiClient.Ids(1001) }, r => r.Headers.Add("Sec-Fetch-Site", "cross-site"));
        var foreignOrigin = await api.SendAsync(HttpMethod.Post, "/api/v1/tokens", new { ids = ApiClient.Ids(1001) }, r => r.Headers.Add("Origin", "http://evil.example"));
        var form = await api.SendAsync(HttpMethod.Post, "/api/v1/tokens", null, r => r.Content = new StringContent("ids=1001", System.Text.Encoding.UTF8, "application/x-www-form-urlencoded"));
        var signOut = await api.SendAsync(HttpMethod.Delete, "/api/v1/session", null, r => r.Headers.Add("Sec-Fetch-Site", "cross-site"));

        Assert.Equal(HttpStatusCode.Forbidden, crossSite.Status);
        Assert.Equal(HttpStatusCode.Forbidden, foreignOrigin.Status);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, form.Status);
        Assert.Equal(HttpStatusCode.Forbidden, signOut.Status);
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/api/v1/me")).Status);
        var sameOrigin = await api.SendAsync(HttpMethod.Post, "/api/v1/tokens", new { ids = ApiClient.Ids(1001) }, r =>
        {
            r.Headers.Add("Origin", Server.BaseAddress.GetLeftPart(UriPartial.Authority));
            r.Headers.Add("Sec-Fetch-Site", "same-origin");
        });
        Assert.Equal(HttpStatusCode.Created, sameOrigin.Status);
    }
}
