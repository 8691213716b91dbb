using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using CallMedia.Hosting;
using CallMedia.IntegrationTests.Infrastructure;
using CallMedia.Operations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace CallMedia.IntegrationTests;

/// <summary>/healthz, /readyz and /metrics over real HTTP, and who may read them.</summary>
public sealed class OperationsTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task Healthz_AnyCaller_AnswersOk()
    {
        using var client = fixture.Server.CreateClient();
        Assert.Equal("ok\n", await client.GetStringAsync("/healthz"));
    }

    [Fact]
    public async Task Readyz_FromLoopback_AnswersReadyWithEveryCheck()
    {
        using var client = fixture.Server.CreateClient();
        using var response = await client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("Healthy", json.RootElement.GetProperty("status").GetString());
        foreach (var check in new[] { "database", "media", "ffmpeg" })
        {
            Assert.Equal("Healthy", json.RootElement.GetProperty("checks").GetProperty(check).GetProperty("status").GetString());
        }
    }

    [Fact]
    public async Task Readyz_FfprobeMissing_Answers503NamingTheCheck()
    {
        await using var server = await TestServer.StartAsync("Media:Ffprobe=/nonexistent/ffprobe");
        using var client = server.CreateClient();
        using var response = await client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("Unhealthy", json.RootElement.GetProperty("checks").GetProperty("ffmpeg").GetProperty("status").GetString());
        Assert.Equal("Healthy", json.RootElement.GetProperty("checks").GetProperty("database").GetProperty("status").GetString());
    }

    [Fact]
    public async Task Metrics_AfterRequests_ExportsRequestHistogramsAndCallMediaInstruments()
    {
        using var client = fixture.Server.CreateClient();
        await client.GetStringAsync("/healthz");
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1003&action=download");
        using (var sent = await client.SendAsync(CallRec.Send(session, token)))
        {
            Assert.Equal(HttpStatusCode.OK, sent.StatusCode);
        }

        // The exporter picks up new instruments on its own schedule: scrape until everything is there, or give up.
        string[] expected =
        [
            "http_request_duration_seconds_bucket\\{[^}]*code=\"200\"[^}]*endpoint=\"/healthz\"",
            "(?m)^callmedia_tokens_issued [1-9]",
            "(?m)^callmedia_tokens_redeemed [1-9]",
            "(?m)^callmedia_bytes_sent\\{kind=\"file\"\\} [1-9]",
        ];
        var text = "";
        for (var attempt = 0; attempt < 30 && !expected.All(e => Regex.IsMatch(text, e)); attempt++)
        {
            await Task.Delay(attempt == 0 ? 0 : 500);
            using var response = await client.GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.StartsWith("text/plain", response.Content.Headers.ContentType!.ToString(), StringComparison.Ordinal);
            text = await response.Content.ReadAsStringAsync();
        }

        foreach (var pattern in expected)
        {
            Assert.Matches(pattern, text);
        }
    }

    [Fact]
    public async Task Metrics_OfANewProcess_CountWhatHappenedBeforeTheFirstScrape()
    {
        // A node restarted: tokens are issued and redeemed before Prometheus first comes by.
        await using var cluster = await Cluster.StartAsync(1);
        using var client = cluster.Nodes[0].CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1003&action=download");
        await CallRec.RequireTokenAsync(client, session, "id_call[]=1003&action=download");
        using (var sent = await client.SendAsync(CallRec.Send(session, token)))
        {
            Assert.Equal(HttpStatusCode.OK, sent.StatusCode);
        }

        var text = await client.GetStringAsync("/metrics");

        // The redemption taken ahead of routing is measured as a routed one: labelled with its route.
        Assert.Matches("http_request_duration_seconds_count\\{code=\"200\",method=\"GET\",controller=\"\",action=\"\",endpoint=\"/callrec/sendcallfile.\\{ext\\}\"\\} 1", text);

        // Named by the meter and the instrument once (docs/deployment.md), counted from the process's start.
        Assert.Matches("(?m)^callmedia_tokens_issued 2$", text);
        Assert.Matches("(?m)^callmedia_tokens_redeemed 1$", text);
        Assert.Matches("(?m)^callmedia_bytes_sent\\{kind=\"file\"\\} [1-9]", text);
        Assert.DoesNotContain("callmedia_callmedia_", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE callmedia_tokens_issued counter", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE callmedia_jobs_running gauge", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadyzAndMetrics_FromAnAddressNotOpenedTo_Answer404_AndOpenToAdmitsIt()
    {
        // The proxy (loopback) forwards for a client elsewhere: that client may see /healthz only.
        await using var closed = await TestServer.StartAsync("Hosting:KnownProxies:0=127.0.0.1");
        await using var open = await TestServer.StartAsync("Hosting:KnownProxies:0=127.0.0.1", "Operations:OpenTo:0=192.0.2.0/24");
        foreach (var (server, expected) in new[] { (closed, HttpStatusCode.NotFound), (open, HttpStatusCode.OK) })
        {
            using var client = server.CreateClient();
            foreach (var path in new[] { "/readyz", "/metrics" })
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, path);
                request.Headers.Add("X-Forwarded-For", "192.0.2.7");
                using var response = await client.SendAsync(request);
                Assert.Equal(expected, response.StatusCode);
            }

            using var health = new HttpRequestMessage(HttpMethod.Get, "/healthz");
            health.Headers.Add("X-Forwarded-For", "192.0.2.7");
            Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(health)).StatusCode);
        }
    }

    [Fact]
    public async Task Start_ConsoleFormatterJsonConfigured_LogsThroughTheJsonFormatter()
    {
        await using var server = await TestServer.StartAsync("Logging:Console:FormatterName=json");
        Assert.Equal(ConsoleFormatterNames.Json, server.Services.GetRequiredService<IOptionsMonitor<ConsoleLoggerOptions>>().CurrentValue.FormatterName);
        Assert.Contains(server.Services.GetServices<ConsoleFormatter>(), f => f.Name == ConsoleFormatterNames.Json);
    }

    [Fact]
    public async Task Start_OpenToNotAnAddress_FailsValidation()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => TestServer.StartAsync("Operations:OpenTo:0=not-an-address"));
        Assert.Contains("Operations:OpenTo", error.ToString(), StringComparison.Ordinal);
    }
}
