using System.Net;
using CallMedia.IntegrationTests.Infrastructure;

namespace CallMedia.IntegrationTests;

public sealed class TokenTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer Server => fixture.Server;

    [Fact]
    public async Task Token_Success_HasExactFraming()
    {
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/callrec/downloadtoken?id_call[]=1001").WithSession(session);
        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/xml;charset=UTF-8", response.Content.Headers.NonValidated["Content-Type"].ToString());
        Assert.Matches("^<\\?xml version=\"1.0\" encoding=\"UTF-8\" \\?>\n<reply>[A-Za-z0-9]{20}</reply>\n$", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Token_PostFormWithPathSession_Works()
    {
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        using var response = await client.PostAsync(
            $"/callrec/downloadtoken;JSESSIONID={session}",
            new FormUrlEncodedContent([new("id_call[]", "1001"), new("id_call[]", "1002,1003"), new("action", "download")]));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("<reply>", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("id_call[]=1001&id_call[]=1002&action=download", "1001,1002")]
    [InlineData("id_call[]=1001,1002,1003&action=download", "1001,1002,1003")]
    [InlineData("call_id[]=1004&call_id[]=1005,1006&action=download", "1004,1005,1006")]
    [InlineData("id_call[]=1001,1001,1002&action=download", "1001,1002")]
    public async Task Token_IdForms_NameTheRightCouples(string query, string expected)
    {
        var manifest = await DownloadManifestAsync(query);
        var ids = manifest.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(l => l.Split('\t')[0]);
        Assert.Equal(expected, string.Join(',', ids));
    }

    [Fact]
    public async Task Token_Sid_OverridesIdCall()
    {
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var sid = await SidOfAsync(client, session, 1007);
        var token = await CallRec.RequireTokenAsync(client, session, $"sid={Uri.EscapeDataString(sid)}&id_call[]=1001&action=download");
        using var response = await client.SendAsync(CallRec.Send(session, token));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("1007_", response.Content.Headers.ContentDisposition!.FileNameStar, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("id_call[]=abc", HttpStatusCode.BadRequest)]
    [InlineData("id_call[]=-5", HttpStatusCode.BadRequest)]
    [InlineData("id_call[]=99999999999999999999999", HttpStatusCode.BadRequest)]
    [InlineData("", HttpStatusCode.BadRequest)]
    [InlineData("id_call[]=1001&type=2", HttpStatusCode.BadRequest)]
    [InlineData("id_call[]=1001&type=x", HttpStatusCode.BadRequest)]
    [InlineData("id_call[]=1001,1002", HttpStatusCode.BadRequest)]
    [InlineData("id_call[]=1025,1026&type=16&action=prepare", HttpStatusCode.BadRequest)]
    [InlineData("id_call[]=1001&action=prepare", HttpStatusCode.BadRequest)]
    [InlineData("id_call[]=1001&type=1&type=16", HttpStatusCode.BadRequest)]
    [InlineData("id_call[]=424242", HttpStatusCode.NotFound)]
    [InlineData("sid=no-such-sid", HttpStatusCode.NotFound)]
    [InlineData("id_call[]=1001,424242&action=download", HttpStatusCode.NotFound)]
    public async Task Token_BadRequests_GetStatusAndXmlError(string query, HttpStatusCode expected)
    {
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var (status, token, body) = await CallRec.TokenAsync(client, session, query);
        Assert.Equal(expected, status);
        Assert.Null(token);
        Assert.Matches("^<\\?xml version=\"1.0\" encoding=\"UTF-8\" \\?>\n<error number=\"\\d+\">[^<]+</error>$", body);
    }

    [Fact]
    public async Task Token_MoreThan10000Ids_Returns400()
    {
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        var ids = string.Join(',', Enumerable.Range(1, 10_001));
        using var response = await client.PostAsync(
            $"/callrec/downloadtoken;jsessionid={session}",
            new FormUrlEncodedContent([new("id_call[]", ids), new("action", "download")]));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Token_NoSession_Redirects302ToSignIn()
    {
        using var client = Server.CreateClient();
        using var response = await client.GetAsync("/callrec/downloadtoken?id_call[]=1001");
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.Equal("/callrec/?return=%2Fcallrec%2Fdownloadtoken", response.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task Token_UserWithoutRight_Returns403()
    {
        await Server.AddUserAsync("listener-only", "secret-1", ["listener"]);
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client, "listener-only", "secret-1");

        Assert.Equal(HttpStatusCode.OK, (await CallRec.TokenAsync(client, session, "id_call[]=1001")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await CallRec.TokenAsync(client, session, "id_call[]=1001&action=download")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await CallRec.TokenAsync(client, session, "id_call[]=1025&type=16&action=prepare")).Status);
    }

    [Fact]
    public async Task Token_LimitedScope_HidesExistenceAndOtherCouples()
    {
        using var client = Server.CreateClient();
        var admin = await CallRec.LoginAsync(client);
        var manifest = await DownloadManifestAsync("id_call[]=1001,1002&action=download");
        var row = manifest.Split('\n')[1].Split('\t');
        var callingOf1001 = row[4];
        await Server.AddUserAsync("scoped", "secret-2", ["downloader"], [callingOf1001]);
        var session = await CallRec.LoginAsync(client, "scoped", "secret-2");

        Assert.Equal(HttpStatusCode.OK, (await CallRec.TokenAsync(client, session, "id_call[]=1001")).Status);
        var outside = await FirstCoupleWithoutNumberAsync(client, admin, callingOf1001);
        Assert.Equal(HttpStatusCode.Forbidden, (await CallRec.TokenAsync(client, session, $"id_call[]={outside}")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await CallRec.TokenAsync(client, session, "id_call[]=424242")).Status);
    }

    private async Task<string> DownloadManifestAsync(string query)
    {
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client);
        return await CallRec.ManifestAsync(client, session, query);
    }

    private static async Task<string> SidOfAsync(HttpClient client, string session, long id)
    {
        var manifest = await CallRec.ManifestAsync(client, session, $"id_call[]={id},1001&action=download");
        return manifest.Split('\n')[1].Split('\t')[1];
    }

    private static async Task<long> FirstCoupleWithoutNumberAsync(HttpClient client, string session, string number)
    {
        var manifest = await CallRec.ManifestAsync(client, session, "id_call[]=" + string.Join(',', Enumerable.Range(1001, 20)) + "&action=download");
        var rows = manifest.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(l => l.Split('\t'));
        return long.Parse(rows.First(r => r[4] != number && r[6] != number)[0], System.Globalization.CultureInfo.InvariantCulture);
    }
}
