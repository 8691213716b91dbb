using System.Net;
using CallMedia.Data;
using CallMedia.IntegrationTests.Infrastructure;
using Dapper;
using Microsoft.Extensions.DependencyInjection;

namespace CallMedia.IntegrationTests;

/// <summary>Tokens handed out by prepare are tokens like any other: audited, counted, and the job address reveals nothing.</summary>
public sealed class PrepareTokenTests
{
    [Fact]
    public async Task JobTokens_AreAuditedAndCountedAgainstTheWindow_AndJobsOfOthersAnswerLikeMissingOnes()
    {
        await using var server = await TestServer.StartAsync("Tokens:MaxPerSessionPerMinute=3");
        using var client = server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var prepare = await CallRec.RequireTokenAsync(client, session, "id_call[]=1026&type=16&action=prepare"); // 1 of 3
        using var asyncRequest = CallRec.Send(session, prepare, "mp4");
        asyncRequest.Headers.Add("Prefer", "respond-async");
        using var accepted = await client.SendAsync(asyncRequest);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var location = accepted.Headers.Location!.OriginalString;

        // Polled until done: each answer with a token counts; the third token is one too many.
        var statuses = new List<HttpStatusCode>();
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (statuses.Count < 3 && waited.Elapsed < TimeSpan.FromSeconds(120))
        {
            using var poll = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, location).WithSession(session));
            var body = await poll.Content.ReadAsStringAsync();
            if (poll.StatusCode != HttpStatusCode.OK || body.Contains("<reply>", StringComparison.Ordinal))
            {
                statuses.Add(poll.StatusCode);
            }
            else
            {
                await Task.Delay(100);
            }
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], statuses);
        await server.FlushAuditAsync();
        await using (var connection = await server.Services.GetRequiredService<Database>().OpenAsync())
        {
            var outcomes = (await connection.QueryAsync<string>(
                "SELECT outcome FROM audit WHERE action = 'token.stream' AND couple_ids = '1026' AND user_name = 'demo' ORDER BY seq")).ToList();
            Assert.Equal(["issued", "issued", "rate-limited"], outcomes);
        }

        // Someone without the right, and a job that does not exist: the same 404.
        await server.AddUserAsync("viewer", "viewer-password", ["listener"]);
        var viewer = await CallRec.LoginAsync(client, "viewer", "viewer-password");
        using var notYours = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, location).WithSession(viewer));
        using var missing = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/callrec/jobs/987654321").WithSession(viewer));
        Assert.Equal(HttpStatusCode.NotFound, notYours.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(await missing.Content.ReadAsStringAsync(), await notYours.Content.ReadAsStringAsync());
    }
}
