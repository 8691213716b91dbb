using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using CallMedia.Auth;
using CallMedia.Data;
using CallMedia.Hosting;
using CallMedia.IntegrationTests.Infrastructure;
using Dapper;
using Microsoft.Extensions.DependencyInjection;

namespace CallMedia.IntegrationTests;

/// <summary>What a black-box review of a running server found: the demo password, logs, browsers, floods, old rows, bad framing.</summary>
public sealed class HardeningTests
{
    private static HttpClient ClientOn(Uri address) =>
        new(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = address };

    [Fact]
    public async Task Login_DemoPasswordWithKestrelEndpointBeyondLoopback_IsRefused()
    {
        await using var server = await TestServer.StartAsync("Kestrel:Endpoints:Http:Url=http://0.0.0.0:0");
        Assert.Equal("0.0.0.0", server.BaseAddress.Host);
        using var client = ClientOn(new Uri($"http://127.0.0.1:{server.BaseAddress.Port}"));

        var body = await client.GetStringAsync("/callrec/loginservlet?loginname=demo&password=demo");

        Assert.Equal(CallRec.Declaration + "<error number=\"2\">Access denied.</error>", body);
        var demo = await server.Services.GetRequiredService<UserStore>().FindForLoginAsync("demo");
        Assert.False(PasswordHashing.Verify(demo!.Value.PasswordHash, "demo"));
    }

    [Fact]
    public async Task Send_TwoSessionPathParameters_StripsBothAndNeverEchoesOne()
    {
        await using var server = await TestServer.StartAsync();
        using var client = server.CreateClient();

        using var response = await client.GetAsync("/callrec/sendcallfile.mp3;jsessionid=0123456789ABCDEF0123456789ABCDEF;JSESSIONID=FEDCBA9876543210FEDCBA9876543210?token=AbCdEfGhIjKlMnOpQrSt");

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.Equal("/callrec/?return=%2Fcallrec%2Fsendcallfile.mp3", response.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task Logs_EveryCategoryAtTraceForEveryProvider_HoldNoSecret()
    {
        const string sink = "Logging:CallMedia.IntegrationTests.Infrastructure.LogSink:LogLevel:";
        await using var server = await TestServer.StartAsync(
            "Logging:LogLevel:Default=Trace", sink + "Default=Trace", sink + "Microsoft=Trace", sink + "Microsoft.AspNetCore.Hosting.Diagnostics=Trace",
            sink + "Microsoft.AspNetCore.Server.Kestrel=Trace", sink + "Microsoft.AspNetCore.Routing=Trace");
        await server.AddUserAsync("trace-probe", "trace-probe-password", ["supervisor"]);
        using var client = server.CreateClient();
        var before = LogSink.Shared.Lines.Count;
        await ExerciseAsync(client, "trace-probe", "trace-probe-password");

        var lines = LogSink.Shared.Lines.Skip(before).ToList();
        Assert.Contains(lines, l => l.Contains("Request starting", StringComparison.Ordinal) && l.Contains("sendcallfile", StringComparison.Ordinal));
        AssertNoSecret(lines);
    }

    [Fact]
    public async Task Send_WithoutSessionOnAHugePath_RedirectsToSignInWithoutEchoingThePath()
    {
        await using var server = await TestServer.StartAsync();
        using var client = ClientOn(server.BaseAddress);

        using var response = await client.GetAsync("/callrec/sendcallfile.mp3" + new string(';', 20_000) + "?token=AbCdEfGhIjKlMnOpQrSt");

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.Equal("/callrec/", response.Headers.Location!.OriginalString);
    }

    [Theory]
    [InlineData("Information", true)]
    [InlineData("Warning", false)]
    public async Task RequestLog_WritesItsLineOnlyWhenItsCategoryIsOn(string level, bool written)
    {
        const string sink = "Logging:CallMedia.IntegrationTests.Infrastructure.LogSink:LogLevel:";
        await using var server = await TestServer.StartAsync(
            "Logging:LogLevel:CallMedia.Requests=" + level, sink + "Default=Warning", sink + "Microsoft.AspNetCore.Hosting.Diagnostics=Information", sink + "CallMedia.Requests=" + level);
        using var client = server.CreateClient();
        // A path of this test's own: other servers write to the same sink meanwhile.
        var path = "/callrec/request-log-probe-" + Guid.NewGuid().ToString("N");

        using var response = await client.GetAsync(path);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var lines = LogSink.Shared.Lines.Where(l => l.Contains(path, StringComparison.Ordinal)).ToList();
        Assert.Contains(lines, l => l.Contains("Request starting", StringComparison.Ordinal));
        Assert.Equal(written, lines.Any(l => l.Contains($"GET {path} answered 404", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task RequestLog_AHugePath_WritesABoundedLine()
    {
        const string sink = "Logging:CallMedia.IntegrationTests.Infrastructure.LogSink:LogLevel:";
        await using var server = await TestServer.StartAsync("Logging:LogLevel:CallMedia.Requests=Information", sink + "Default=Warning", sink + "CallMedia.Requests=Information");
        using var client = server.CreateClient();
        var probe = "/callrec/request-log-huge-" + Guid.NewGuid().ToString("N");

        using var response = await client.GetAsync(probe + "/" + new string('x', 200_000));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var line = Assert.Single(LogSink.Shared.Lines, l => l.Contains(probe, StringComparison.Ordinal));
        // The message and its Path value: each the path cut after RequestLog.PathShown characters.
        Assert.Contains("characters more) answered 404", line, StringComparison.Ordinal);
        Assert.True(line.Length < 3 * RequestLog.PathShown, $"a line of {line.Length} characters");
    }

    [Fact]
    public async Task Logs_AtInformation_HaveNoLinePerProblemAnswerNorOneAboutMissingControllers()
    {
        await using var server = await TestServer.StartAsync("Logging:LogLevel:Default=Information");
        using var client = server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        for (var i = 0; i < 3; i++)
        {
            using var bad = new HttpRequestMessage(HttpMethod.Get, "/api/v1/calls?limit=0");
            bad.Headers.Add("Cookie", "JSESSIONID=" + session);
            using var problem = await client.SendAsync(bad);
            Assert.Equal(HttpStatusCode.BadRequest, problem.StatusCode);
        }

        using var described = await client.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, described.StatusCode);

        // The request log's own line for each is there; the framework's "Setting HTTP status code 400" and its MVC
        // warning-sounding note that this service has no controllers are not.
        Assert.Equal(3, server.Log.Lines.Count(l => l.Contains("GET /api/v1/calls answered 400", StringComparison.Ordinal)));
        Assert.DoesNotContain(server.Log.Lines, l => l.Contains("HttpResults", StringComparison.Ordinal) || l.Contains("Setting HTTP status code", StringComparison.Ordinal));
        Assert.DoesNotContain(server.Log.Lines, l => l.Contains("No action descriptors", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Logs_ConsoleProviderAtTraceInARealServe_HoldNoSecret()
    {
        var data = await DemoTemplate.CopyAsync();
        const string console = "--Logging:Console:LogLevel:";
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[]
        {
            Path.Combine(AppContext.BaseDirectory, "callmedia.dll"), "serve", "--data", data, "--urls", "http://127.0.0.1:0",
            "--Logging:LogLevel:Default=Trace", console + "Default=Trace", console + "Microsoft=Trace",
            console + "Microsoft.AspNetCore.Hosting.Diagnostics=Trace", console + "Microsoft.AspNetCore.Server.Kestrel=Trace",
        })
        {
            start.ArgumentList.Add(a);
        }

        var output = new StringBuilder();
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }

            const string marker = "listening on ";
            if (e.Data?.IndexOf(marker, StringComparison.Ordinal) is int at and >= 0)
            {
                listening.TrySetResult(new Uri(e.Data[(at + marker.Length)..].Replace("/callrec/", "", StringComparison.Ordinal)));
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var address = await listening.Task.WaitAsync(TimeSpan.FromSeconds(60));
            using var client = ClientOn(address);
            await ExerciseAsync(client, "demo", "demo");
        }
        finally
        {
            // The console logger writes from a queue of its own: a kill can lose its last lines (the request's own among
            // them), so the server is asked to stop and writes them out as it shuts down; killed only if it does not.
            await Tool.RequireAsync("kill", "-TERM", process.Id.ToString(CultureInfo.InvariantCulture));
            using var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await process.WaitForExitAsync(stopping.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            Directory.Delete(data, recursive: true);
        }

        var lines = output.ToString().Split('\n');
        Assert.Contains(lines, l => l.Contains("Request starting", StringComparison.Ordinal) && l.Contains("sendcallfile", StringComparison.Ordinal));
        AssertNoSecret(lines);
    }

    [Theory]
    [InlineData("Origin", "https://evil.example")]
    [InlineData("Origin", "null")]
    [InlineData("Sec-Fetch-Site", "cross-site")]
    [InlineData("Origin", "own", "cross-site")] // either sign of another site refuses
    public async Task StateChangingRequests_FromAnotherSite_AreRefused(string header, string value, string? fetchSite = null)
    {
        await using var server = await TestServer.StartAsync();
        using var client = server.CreateClient();
        var session = await CallRec.LoginAsync(client);

        foreach (var request in new[]
        {
            new HttpRequestMessage(HttpMethod.Post, "/callrec/loginservlet") { Content = new FormUrlEncodedContent([new("loginname", "demo"), new("password", "demo")]) },
            new HttpRequestMessage(HttpMethod.Get, "/callrec/downloadtoken?id_call[]=1001").WithSession(session),
            new HttpRequestMessage(HttpMethod.Get, "/callrec/jobs/1").WithSession(session), // a finished job's answer issues a token
            new HttpRequestMessage(HttpMethod.Post, "/callrec/logout").WithSession(session),
        })
        {
            using (request)
            {
                request.Headers.Add(header, value == "own" ? server.BaseAddress.GetLeftPart(UriPartial.Authority) : value);
                if (fetchSite is not null)
                {
                    request.Headers.Add("Sec-Fetch-Site", fetchSite);
                }

                using var response = await client.SendAsync(request);
                Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
                Assert.Equal(CallRec.Declaration + "<error number=\"15\">Requests from another site are refused.</error>", await response.Content.ReadAsStringAsync());
            }
        }

        // Nothing happened: the session still works.
        await CallRec.RequireTokenAsync(client, session, "id_call[]=1001");
    }

    [Fact]
    public async Task StateChangingRequests_SameOriginOrAllowedOrigin_Work()
    {
        await using var server = await TestServer.StartAsync("Hosting:AllowedOrigins:0=https://portal.example");
        using var client = server.CreateClient();
        var own = server.BaseAddress.GetLeftPart(UriPartial.Authority);
        // The allowed portal's browser marks its requests cross-site, rightly: its Origin is what lets them in.
        foreach (var (header, value, fetchSite) in new[] { ("Origin", own, "same-origin"), ("Origin", "https://portal.example", "cross-site"), ("Sec-Fetch-Site", "same-origin", null) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/callrec/loginservlet") { Content = new FormUrlEncodedContent([new("loginname", "demo"), new("password", "demo")]) };
            request.Headers.Add(header, value);
            if (fetchSite is not null)
            {
                request.Headers.Add("Sec-Fetch-Site", fetchSite);
            }

            using var response = await client.SendAsync(request);
            Assert.Contains("Access is authorized.", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Responses_CarryBrowserHeaders()
    {
        await using var server = await TestServer.StartAsync();
        using var client = server.CreateClient();

        // The sign-in page (where /callrec/ leads) has the web app's own policy, framing refused in it too.
        using var page = await client.GetAsync("/sign-in");
        Assert.Contains("frame-ancestors 'none'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Equal("DENY", page.Headers.GetValues("X-Frame-Options").Single());
        Assert.Equal("nosniff", page.Headers.GetValues("X-Content-Type-Options").Single());
        using var health = await client.GetAsync("/healthz");
        Assert.Equal("nosniff", health.Headers.GetValues("X-Content-Type-Options").Single());
        using var login = await client.GetAsync("/callrec/loginservlet?loginname=demo&password=wrong");
        Assert.Equal("nosniff", login.Headers.GetValues("X-Content-Type-Options").Single());
    }

    [Fact]
    public async Task AnonymousRequests_PastThePerAddressLimit_Get429WithRetryAfter()
    {
        await using var server = await TestServer.StartAsync("Hosting:AnonymousRequestsPerMinute=5");
        using var client = server.CreateClient();
        // The web app's scripts and styles are static bytes from memory: a whole office behind one address loading the
        // sign-in page at nine o'clock must not use up the sign-ins' allowance.
        for (var i = 0; i < 20; i++)
        {
            using var asset = await client.GetAsync("/assets/app.js");
            Assert.Equal(HttpStatusCode.OK, asset.StatusCode);
        }

        var session = await CallRec.LoginAsync(client); // one anonymous request
        for (var i = 0; i < 4; i++)
        {
            using var ok = await client.GetAsync("/callrec/loginservlet?loginname=demo&password=wrong");
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using var refused = await client.GetAsync("/callrec/loginservlet?loginname=demo&password=wrong");
        Assert.Equal((HttpStatusCode)429, refused.StatusCode);
        Assert.True(refused.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        Assert.Equal(CallRec.Declaration + "<error number=\"16\">Too many requests from this address; retry later.</error>", await refused.Content.ReadAsStringAsync());

        // The JSON sign-in counts against the same limit and is refused in its own language.
        using var json = await client.PostAsync("/api/v1/session", new StringContent("{\"loginName\":\"demo\",\"password\":\"wrong\"}", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal((HttpStatusCode)429, json.StatusCode);
        Assert.Equal("application/problem+json", json.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Too many requests from this address", await json.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // A signed-in session is not held back by the anonymous limit.
        await CallRec.RequireTokenAsync(client, session, "id_call[]=1001");
    }

    [Fact]
    public async Task Purge_OnSchedule_RemovesExpiredSessionsTokensAndFailuresButKeepsTheAudit()
    {
        await using var server = await TestServer.StartAsync("Purge:Interval=00:05:00");
        using var client = server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1001");
        (await client.SendAsync(CallRec.Send(session, token))).Dispose();
        await CallRec.RequireTokenAsync(client, session, "id_call[]=1002");
        (await client.GetAsync("/callrec/loginservlet?loginname=demo&password=wrong")).Dispose();
        await server.FlushAuditAsync();
        var db = server.Services.GetRequiredService<Database>();

        async Task<long> RowsAsync()
        {
            await using var connection = await db.OpenAsync();
            return await connection.ExecuteScalarAsync<long>(
                "SELECT (SELECT COUNT(*) FROM sessions) + (SELECT COUNT(*) FROM tokens) + (SELECT COUNT(*) FROM login_failures)");
        }

        Assert.True(await RowsAsync() > 0);
        server.Clock.Advance(TimeSpan.FromHours(13));
        var watch = Stopwatch.StartNew();
        while (await RowsAsync() > 0 && watch.Elapsed < TimeSpan.FromSeconds(20))
        {
            server.Clock.Advance(TimeSpan.FromMinutes(5));
            await Task.Delay(100);
        }

        Assert.Equal(0, await RowsAsync());
        var (exit, output, error) = await server.CliAsync("", "audit", "verify");
        Assert.True(exit == 0, output + error);
    }

    [Fact]
    public async Task OptionsAsterisk_ItsRequestLine_ShowsTheAsteriskAsItsTarget()
    {
        await using var server = await TestServer.StartAsync();
        var answer = await RawAnswerAsync(server, "OPTIONS * HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        var status = answer.Split(' ')[1];

        // The line is written as the request ends, which may be after the client has its answer.
        var line = "OPTIONS * answered " + status;
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!server.Log.Lines.Any(l => l.Contains(line, StringComparison.Ordinal)) && waited.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(20);
        }

        Assert.Contains(server.Log.Lines, l => l.Contains(line, StringComparison.Ordinal));
    }

    /// <summary>Sends <paramref name="request"/> as it is (a request that closes its connection) and reads the whole answer.</summary>
    private static async Task<string> RawAnswerAsync(TestServer server, string request)
    {
        using var socket = new TcpClient();
        await socket.ConnectAsync("127.0.0.1", server.BaseAddress.Port);
        var stream = socket.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream, Encoding.ASCII);
        return await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task ChunkedBody_WithOverflowingChunkSize_Gets400WithoutStackTrace()
    {
        await using var server = await TestServer.StartAsync();
        var answer = await RawAnswerAsync(
            server,
            "POST /callrec/loginservlet HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nFFFFFFFFFFFFFFFFFF\r\nloginname=demo\r\n0\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 400", answer, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", answer, StringComparison.Ordinal);
        Assert.DoesNotContain(server.Log.Lines, l => l.Contains("   at ", StringComparison.Ordinal) && l.Contains("CallMedia.", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("/api/v1/session")]
    [InlineData("/api/v1/tokens")]
    public async Task JsonApi_BodyTooLargeOrBadlyChunked_AnsweredAsProblemsNotInternalErrors(string path)
    {
        await using var server = await TestServer.StartAsync();
        using var api = await ApiClient.CreateAsync(server);
        await api.SignInAsync();
        // Raw requests, so the answer is read whole: a client still sending a body the server has refused may see its
        // send fail (broken pipe) before it reads the answer. A declared length over the limit is refused unread.
        foreach (var (framing, expected) in (ValueTuple<string, string>[])[
            ("Content-Length: 2500009\r\n\r\n", "HTTP/1.1 413"),
            ("Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFF\r\n{}\r\n0\r\n\r\n", "HTTP/1.1 400"),
            ("Transfer-Encoding: chunked\r\n\r\nqq\r\n{}\r\n0\r\n\r\n", "HTTP/1.1 400")])
        {
            using var socket = new TcpClient();
            await socket.ConnectAsync("127.0.0.1", server.BaseAddress.Port);
            var stream = socket.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"POST {path} HTTP/1.1\r\nHost: localhost\r\nCookie: JSESSIONID={api.Session}\r\nContent-Type: application/json\r\n"
                + $"Connection: close\r\n{framing}"));
            using var reader = new StreamReader(stream, Encoding.ASCII);
            var answer = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.StartsWith(expected, answer, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(server.Log.Lines, l => l.Contains("Unhandled error", StringComparison.Ordinal));
    }

    /// <summary>Every request shape that carries a secret: query and path sessions, tokens, passwords in a query, a 302, a sign-in failure.</summary>
    private static async Task ExerciseAsync(HttpClient client, string name, string password)
    {
        (await client.GetAsync($"/callrec/loginservlet?loginname={name}&password=wrong-password-in-clear")).Dispose();
        LogSink.Shared.AddSecret("wrong-password-in-clear");
        var body = await client.GetStringAsync($"/callrec/loginservlet?loginname={name}&password={password}");
        var session = body.Substring(body.IndexOf("sessionid=\"", StringComparison.Ordinal) + 11, 32);
        LogSink.Shared.AddSecret(session);
        LogSink.Shared.AddSecret(password);
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1001,1002&action=download");
        (await client.GetAsync($"/callrec/sendcallfile.zip;jsessionid={session}?token={token}")).Dispose();
        (await client.GetAsync($"/callrec/sendcallfile.zip;jsessionid={session};jsessionid={session}?token={token}&%74oken={token}")).Dispose();
        (await client.GetAsync($"/callrec/downloadtoken;jsessionid={session}?id_call[]=1001")).Dispose();
        (await client.GetAsync($"/callrec/sendcallfile.mp3;jsessionid=ABABABABABABABABABABABABABABAB12?token={token}")).Dispose();
        LogSink.Shared.AddSecret("ABABABABABABABABABABABABABABAB12");
        Assert.Contains(token, LogSink.Shared.Secrets);
    }

    private static void AssertNoSecret(IReadOnlyCollection<string> lines)
    {
        Assert.NotEmpty(lines);
        foreach (var secret in LogSink.Shared.Secrets)
        {
            var leak = lines.FirstOrDefault(l => l.Contains(secret, StringComparison.OrdinalIgnoreCase));
            Assert.True(leak is null, $"a secret reached the log: {leak}");
        }
    }
}
