using System.Net;
using System.Text.Json;
using CallMedia.IntegrationTests.Infrastructure;

namespace CallMedia.IntegrationTests;

/// <summary>The admin CLI, run against the data folder of a running server.</summary>
public sealed class CliTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer Server => fixture.Server;

    [Fact]
    public async Task UserAdd_WithRoleAndScope_CanSignInAndIsListed()
    {
        var (exit, _, error) = await Server.CliAsync("pw-alice-1\n", "user", "add", "alice", "--role", "listener", "--scope", "2001,2002");
        Assert.True(exit == 0, error);

        using var client = Server.CreateClient();
        await CallRec.LoginAsync(client, "alice", "pw-alice-1");

        var (listExit, json, _) = await Server.CliAsync("", "user", "list", "--json");
        Assert.Equal(0, listExit);
        var alice = JsonDocument.Parse(json).RootElement.EnumerateArray().Single(u => u.GetProperty("name").GetString() == "alice");
        Assert.Equal(["listener"], alice.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal(["2001", "2002"], alice.GetProperty("scope").EnumerateArray().Select(r => r.GetString()));
    }

    [Fact]
    public async Task UserGrant_AddsRights()
    {
        await Server.CliAsync("pw-bob-1\n", "user", "add", "bob", "--role", "listener");
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client, "bob", "pw-bob-1");
        Assert.Equal(HttpStatusCode.Forbidden, (await CallRec.TokenAsync(client, session, "id_call[]=1001&action=download")).Status);

        var (exit, _, error) = await Server.CliAsync("", "user", "grant", "bob", "downloader");
        Assert.True(exit == 0, error);
        Assert.Equal(HttpStatusCode.OK, (await CallRec.TokenAsync(client, session, "id_call[]=1001&action=download")).Status);
    }

    [Fact]
    public async Task UserDisable_EndsSessionsAtOnce()
    {
        await Server.CliAsync("pw-carol-1\n", "user", "add", "carol", "--role", "supervisor");
        using var client = Server.CreateClient();
        var session = await CallRec.LoginAsync(client, "carol", "pw-carol-1");
        var token = await CallRec.RequireTokenAsync(client, session, "id_call[]=1001");

        var (exit, _, error) = await Server.CliAsync("", "user", "disable", "carol");
        Assert.True(exit == 0, error);

        using var response = await client.SendAsync(CallRec.Send(session, token));
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        var login = await client.GetStringAsync("/callrec/loginservlet?loginname=carol&password=pw-carol-1");
        Assert.Contains("Access denied.", login, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("user add dave --role nosuchrole", "unknown role")]
    [InlineData("user add demo --role listener", "already exists")]
    [InlineData("user grant nobody listener", "no user")]
    [InlineData("user frobnicate x", "unknown user command")]
    [InlineData("teleport", "unknown command")]
    [InlineData("user add", "missing user name")]
    public async Task BadCommands_ExitNonZeroWithOneLine(string command, string expected)
    {
        var (exit, _, error) = await Server.CliAsync("pw-whatever\n", command.Split(' '));
        Assert.NotEqual(0, exit);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task CallsList_Json_HasDemoCouplesWithTypes()
    {
        var (exit, json, error) = await Server.CliAsync("", "calls", "list", "--json");
        Assert.True(exit == 0, error);
        var couples = JsonDocument.Parse(json).RootElement.EnumerateArray().ToList();
        Assert.True(couples.Count >= 28);
        var mixed = couples.Single(c => c.GetProperty("id").GetInt64() == 1028);
        Assert.Equal(["audio", "video", "recd"], mixed.GetProperty("types").EnumerateArray().Select(t => t.GetString()));
        Assert.EndsWith("Z", mixed.GetProperty("start").GetString(), StringComparison.Ordinal);
    }
}
