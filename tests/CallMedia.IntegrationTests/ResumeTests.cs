using System.Net;
using System.Net.Http.Headers;
using CallMedia.IntegrationTests.Infrastructure;

namespace CallMedia.IntegrationTests;

/// <summary>Resuming a download the seed's way: POST with the token in the form and a Range header.</summary>
public sealed class ResumeTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task PostWithRange_AfterRedemptionWithinTheLease_Answers206WithThatRange()
    {
        using var client = fixture.Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1003&action=download");
        using var first = await client.SendAsync(Post(session, token, null));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var whole = await first.Content.ReadAsByteArrayAsync();

        using var resumed = await client.SendAsync(Post(session, token, new RangeHeaderValue(100, null)));
        Assert.Equal(HttpStatusCode.PartialContent, resumed.StatusCode);
        Assert.Equal($"bytes 100-{whole.Length - 1}/{whole.Length}", resumed.Content.Headers.ContentRange?.ToString());
        Assert.Equal(whole[100..], await resumed.Content.ReadAsByteArrayAsync());

        // Without a Range header the token stays spent.
        using var again = await client.SendAsync(Post(session, token, null));
        Assert.Equal(HttpStatusCode.Forbidden, again.StatusCode);
    }

    private static HttpRequestMessage Post(string session, string token, RangeHeaderValue? range)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/callrec/sendcallfile.mp3;jsessionid={session}")
        {
            Content = new FormUrlEncodedContent([new("token", token)]),
        };
        request.Headers.Range = range;
        return request;
    }
}
