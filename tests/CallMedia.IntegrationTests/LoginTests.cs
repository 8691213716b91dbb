using System.Diagnostics;
using System.Net;
using CallMedia.IntegrationTests.Infrastructure;

namespace CallMedia.IntegrationTests;

public sealed class LoginTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string Denied = CallRec.Declaration + "<error number=\"2\">Access denied.</error>";

    private TestServer Server => fixture.Server;

    [Fact]
    public async Task Login_PostForm_ReturnsExactFramingAndSessionCookie()
    {
        using var client = Server.CreateClient();
        using var response = await client.PostAsync("/callrec/loginservlet", new FormUrlEncodedContent([new("loginname", "demo"), new("password", "demo")]));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/xml;charset=UTF-8", response.Content.Headers.NonValidated["Content-Type"].ToString());
        var body = await response.Content.ReadAsStringAsync();
        Assert.Matches("^<\\?xml version=\"1.0\" encoding=\"UTF-8\" \\?>\n<ok sessionid=\"[0-9A-F]{32}\" number=\"1\">Access is authorized.</ok>$", body);
        var session = body.Substring(body.IndexOf("sessionid=\"", StringComparison.Ordinal) + 11, 32);
        var cookie = response.Headers.GetValues("Set-Cookie").Single();
        Assert.StartsWith($"JSESSIONID={session};", cookie, StringComparison.Ordinal);
        Assert.Contains("path=/callrec", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Login_GetQuery_Works()
    {
        using var client = Server.CreateClient();
        var body = await client.GetStringAsync("/callrec/loginservlet?loginname=demo&password=demo");
        Assert.StartsWith(CallRec.Declaration + "<ok sessionid=\"", body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("loginname=demo&password=wrong")]
    [InlineData("loginname=nobody&password=demo")]
    [InlineData("loginname=demo")]
    [InlineData("password=demo")]
    [InlineData("")]
    [InlineData("loginname=demo&password=demo&password=other")]
    public async Task Login_BadCredentials_ReturnsSameDeniedBodyWithoutCookie(string query)
    {
        using var client = Server.CreateClient();
        using var response = await client.GetAsync("/callrec/loginservlet?" + query);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Denied, await response.Content.ReadAsStringAsync());
        Assert.False(response.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task Login_Twice_IssuesNewSessionEachTime()
    {
        using var client = Server.CreateClient();
        var first = await CallRec.LoginAsync(client);
        var second = await CallRec.LoginAsync(client);
        Assert.NotEqual(first, second);
    }

    [Fact]
    public async Task Login_UnknownUserAndWrongPassword_TakeComparableTime()
    {
        using var client = Server.CreateClient();
        await client.GetAsync("/callrec/loginservlet?loginname=demo&password=warmup");

        async Task<TimeSpan> Median(string query)
        {
            var times = new List<TimeSpan>();
            for (var i = 0; i < 5; i++)
            {
                var watch = Stopwatch.StartNew();
                (await client.GetAsync("/callrec/loginservlet?" + query)).Dispose();
                times.Add(watch.Elapsed);
            }

            return times.Order().ElementAt(2);
        }

        var unknown = await Median("loginname=nobody-at-all&password=x1");
        var wrong = await Median("loginname=demo&password=x1");
        // Both verify one PBKDF2 hash; without the dummy hash the unknown name would answer in well under a millisecond.
        Assert.True(unknown > wrong / 3, $"unknown user {unknown.TotalMilliseconds} ms vs wrong password {wrong.TotalMilliseconds} ms");
    }

    [Fact]
    public async Task Logout_EndsSessionAndItsTokens()
    {
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1001");

        using (var logout = new HttpRequestMessage(HttpMethod.Post, "/callrec/logout").WithSession(session))
        using (var response = await client.SendAsync(logout))
        {
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        }

        using var send = await client.SendAsync(CallRec.Send(session, token));
        Assert.Equal(HttpStatusCode.Found, send.StatusCode);
        var (status, _, _) = await CallRec.TokenAsync(client, session, "id_call[]=1001");
        Assert.Equal(HttpStatusCode.Found, status);
    }

    [Fact]
    public async Task SignInPage_IsServedWhereRedirectsPoint()
    {
        using var client = Server.CreateClient();
        using var redirect = await client.GetAsync("/callrec/?return=%2Fcallrec%2Fsendcallfile.mp3");
        Assert.Equal(HttpStatusCode.Redirect, redirect.StatusCode);
        var html = await client.GetStringAsync(redirect.Headers.Location!.OriginalString);
        Assert.Contains("/assets/app.js", html, StringComparison.Ordinal);
    }
}
