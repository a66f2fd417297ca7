// Membership is an invitation, in en and ru, with three people in their own browsers:
// the owner invites a person with an account and an address without one (the same neutral
// answer for both), sees them pending and cancels one; inviting a member again is refused at the
// field. The invitee gets a notification, a badge and a banner, accepts on the Invitations page and
// only then sees the project, whose menu holds only what a non-manager may use (a typed URL of a
// managers' page says which permission it needs). The invitee changes the password (a wrong
// current one is refused at the field; the other session is signed out), the old password no
// longer signs in, the new one does; finally "Sign out everywhere".
// en also checks the role editor: the owner role and a role with editing permissions cannot be
// made public, and a public role offers viewing permissions only.
import {
  accountMenu,
  assert,
  createProject,
  fill,
  navItems,
  newestNotification,
  plain,
  setLanguage,
  signIn,
  signUp,
  snackbar,
  tid,
  waitUntil,
  withResponse,
} from '../lib.mjs';

const TEXT = {
  en: {
    invited: (email) => new RegExp(`Invitation sent to ${email.replace(/[.+]/g, '\\$&')}`),
    alreadyMember: /is already a member of this project/,
    cancelled: /Invitation to .* cancelled/,
    inviteTitle: 'You are invited to a project',
    inviteBody: (owner, project) =>
      `${owner} invites you to the project "${project}". Accept or decline it under Invitations.`,
    banner: /You have 1 invitation to a project/,
    joined: /You joined/,
    noAccess: /You do not have access to this page/,
    wrongCurrent: /The current password is wrong/,
    passwordChanged: /Password changed; 1 other session was signed out/,
    badLogin: /Wrong email or password/,
    signedOutAll: /Signed out of \d+ sessions?/,
    publicOnly: /may hold viewing permissions only/,
  },
  ru: {
    invited: (email) => new RegExp(`Приглашение отправлено на ${email.replace(/[.+]/g, '\\$&')}`),
    alreadyMember: /уже участник этого проекта/,
    cancelled: /Приглашение для .* отменено/,
    inviteTitle: 'Вас приглашают в проект',
    inviteBody: (owner, project) =>
      `${owner} приглашает вас в проект «${project}». Примите или отклоните приглашение в разделе «Приглашения».`,
    banner: /У вас 1 приглашение в проект/,
    joined: /Вы вступили в проект/,
    noAccess: /У вас нет доступа к этой странице/,
    wrongCurrent: /Текущий пароль неверен/,
    passwordChanged: /Пароль изменён; завершён 1 другой сеанс/,
    badLogin: /Неверная почта или пароль/,
    signedOutAll: /Заверш[её]н[оы]? \d+ сеанс/,
    publicOnly: /доступны только права просмотра/,
  },
};

function membership(lang) {
  const L = TEXT[lang];
  return {
    name: `membership-${lang}`,
    async run(h) {
      const stamp = `${lang}${Date.now().toString(36)}`;
      const ownerUser = { name: 'Olga Owner', email: `m-owner-${stamp}@e2e.test`, password: 'owner-password-1' };
      const invitee = { name: 'Ivan Invitee', email: `m-invitee-${stamp}@e2e.test`, password: 'invitee-password-1' };
      const nobody = `nobody-${stamp}@e2e.test`;
      const newPassword = 'invitee-password-2';
      const projectName = `Team ${stamp}`;
      const card = (page) => page.locator(`[data-role="project-card"][data-name="${projectName}"]`);

      // ---------- the invitee has an account (and sees only projects with a public role) ----------
      const inv = await h.newUser('invitee');
      const i = inv.page;
      await i.goto('/login');
      await setLanguage(i, lang);
      await signUp(i, invitee);
      assert((await i.locator(tid('invitations-banner')).count()) === 0, 'no invitation banner yet');

      // ---------- owner: project and roles ----------
      const owner = await h.newUser('owner');
      const o = owner.page;
      await o.goto('/login');
      await setLanguage(o, lang);
      await signUp(o, ownerUser);
      const projectId = await createProject(o, projectName, 'People only');
      await o.locator(tid('nav-permissions')).click();
      const createRole = async (name, isPublic = false) => {
        await o.locator(tid('role-create')).click();
        await fill(o, tid('role-new-name'), name);
        if (isPublic) await o.locator(`${tid('role-new-public')} input`).check();
        await withResponse(o, 'POST', /\/roles$/, () => o.locator(tid('role-submit')).click());
        const tile = o.locator(`[data-role="role-tile"][data-name="${name}"]`);
        await tile.waitFor();
        return tile;
      };
      const developer = await createRole('developer');

      // ---------- owner: invitations (the same answer for an address with or without an account) ----------
      const invite = async (email) => {
        await fill(o, tid('member-email'), email);
        await o.locator(tid('member-roles')).click();
        await o.locator('.v-overlay--active .v-list-item').filter({ hasText: 'developer' }).first().click();
        await o.keyboard.press('Escape'); // a multiple select keeps its menu open (not in a dialog here)
        await o
          .locator('.v-select__content')
          .first()
          .waitFor({ state: 'hidden' })
          .catch(() => undefined);
        return o.locator(tid('member-invite')).click();
      };
      for (const email of [invitee.email, nobody]) {
        const res = await withResponse(o, 'POST', new RegExp(`/projects/${projectId}/members$`), () => invite(email));
        assert(res.status() === 201, `invitation answered 201, got ${res.status()}`);
        const body = await res.json();
        assert(body.status === 'pending' && body.email === email, `pending invitation for ${email}`);
        await snackbar(o, L.invited(email));
      }
      const pendingRow = (email) => o.locator(`[data-role="invitation-row"][data-email="${email}"]`);
      await pendingRow(invitee.email).waitFor();
      await pendingRow(nobody).waitFor();
      await o.locator(tid('members')).scrollIntoViewIfNeeded();
      await h.screenshot(o, '01-members-pending');
      // inviting someone who already is a member is refused at the email field
      h.expectConsoleError(new RegExp(`status of 409 .*/api/projects/${projectId}/members\\)$`));
      await invite(ownerUser.email);
      await waitUntil('already-a-member message at the field', async () =>
        L.alreadyMember.test((await o.locator(`${tid('member-email')} .v-messages`).textContent()) ?? ''),
      );
      await fill(o, tid('member-email'), '');
      // cancel the invitation of the address without an account
      await withResponse(o, 'DELETE', /\/invitations\/\d+$/, () =>
        pendingRow(nobody).locator(tid('invitation-cancel')).click(),
      );
      await snackbar(o, L.cancelled);
      await pendingRow(nobody).waitFor({ state: 'detached' });

      // ---------- invitee: not a member yet; notification, badge, banner ----------
      await i.goto('/projects');
      await i.locator(tid('invitations-banner')).waitFor();
      assert(L.banner.test(await i.locator(tid('invitations-banner')).textContent()), 'banner text');
      await i.locator(tid('invitations-badge')).waitFor();
      assert((await card(i).count()) === 0, 'the project is not listed before accepting');
      const notice = await newestNotification(i);
      assert(notice.kind === 'invitation.received', `newest notice ${notice.kind}`);
      assert(notice.title === L.inviteTitle, `notice title "${notice.title}"`);
      const expectedBody = L.inviteBody(ownerUser.name, projectName);
      assert(notice.body === expectedBody, `notice body "${notice.body}", expected "${expectedBody}"`);
      await i.keyboard.press('Escape');
      await accountMenu(i, 'menu-invitations');
      await i.waitForURL(/\/invitations$/);
      const invitation = i.locator(`[data-role="my-invitation"][data-project="${projectName}"]`);
      await invitation.waitFor();
      const invitationText = plain(await invitation.textContent());
      assert(invitationText.includes('developer'), 'the invitation names the role');
      assert(invitationText.includes(ownerUser.name), 'the invitation names who invited');
      await h.screenshot(i, '02-invitation');
      await withResponse(i, 'POST', /\/me\/invitations\/\d+\/accept$/, () =>
        invitation.locator(tid('invitation-accept')).click(),
      );
      await snackbar(i, L.joined);
      await waitUntil('accepted', async () => (await invitation.getAttribute('data-state')) === 'accepted');
      await i.locator(tid('brand')).click();
      await i.waitForURL(/\/projects$/);
      await card(i).waitFor();
      assert((await i.locator(tid('invitations-banner')).count()) === 0, 'no banner once answered');

      // ---------- invitee: a member without project_manage sees About and Graph only ----------
      await card(i).click();
      await i.waitForURL(new RegExp(`/projects/${projectId}/about$`));
      const nav = await navItems(i);
      assert(nav.join(',') === 'about,graph', `member navigation is About and Graph, got ${nav.join(',')}`);
      assert((await i.locator(tid('danger-zone')).count()) === 0, 'no danger zone for a non-owner');
      for (const [section, needs] of [
        ['audit', ['project_manage']],
        ['secrets', ['project_manage', 'code_edit']],
        ['permissions', ['project_manage']],
      ]) {
        await i.goto(`/projects/${projectId}/${section}`);
        const denied = i.locator(tid('no-access'));
        await denied.waitFor();
        const text = await denied.textContent();
        assert(L.noAccess.test(text), `${section}: no-access text`);
        for (const p of needs) assert(text.includes(p), `${section}: names ${p}`);
        if (section === 'audit') await h.screenshot(i, '03-no-access');
      }

      // ---------- owner: the new member is listed with their email; nothing pending ----------
      await o.reload();
      await o.locator(`[data-role="member-row"][data-email="${invitee.email}"]`).waitFor();
      assert((await o.locator('[data-role="invitation-row"]').count()) === 0, 'no invitation pending any more');

      // ---------- owner (en): the role editor's public constraints ----------
      if (lang === 'en') {
        // (after the invitee joined: a public role would list the project for everyone)
        // the owner role can never be public
        const ownerTile = o.locator('[data-role="role-tile"][data-name="owner"]');
        assert((await ownerTile.locator(tid('role-public')).getAttribute('data-locked')) === '1', 'owner role locked');
        // a public role offers viewing permissions only
        const guest = await createRole('guest', true);
        await guest.locator(tid('role-permissions')).click();
        await o.locator(tid('permissions-public-hint')).waitFor();
        assert(L.publicOnly.test(await o.locator(tid('permissions-public-hint')).textContent()), 'public hint');
        assert(await o.locator(`${tid('perm-project-project_edit')} input`).isDisabled(), 'project_edit disabled');
        assert(await o.locator(`${tid('perm-project-graph_view')} input`).isEnabled(), 'graph_view allowed');
        await o.locator(tid('permissions-cancel')).click();
        await o.locator(tid('permissions-dialog')).waitFor({ state: 'hidden' });
        // a role holding an editing permission cannot be switched to public
        await developer.locator(tid('role-permissions')).click();
        await o.locator(`${tid('perm-project-project_edit')} input`).check();
        await withResponse(o, 'PATCH', /\/roles\/\d+$/, () => o.locator(tid('permissions-save')).click());
        await o.locator(tid('permissions-dialog')).waitFor({ state: 'hidden' });
        await waitUntil(
          'public switch locked on a role with project_edit',
          async () => (await developer.locator(tid('role-public')).getAttribute('data-locked')) === '1',
        );
      }

      // ---------- invitee: change password (another session of theirs is signed out) ----------
      const second = await h.newUser('invitee-2');
      await signIn(second.page, invitee);
      await i.goto('/projects');
      await accountMenu(i, 'change-password');
      const dialog = i.locator(tid('password-card'));
      await dialog.waitFor();
      await fill(i, tid('password-current'), 'not-my-password');
      await fill(i, tid('password-new'), newPassword);
      await fill(i, tid('password-repeat'), newPassword);
      h.expectConsoleError(/status of 401 .*\/api\/auth\/password\)$/);
      await dialog.locator(tid('confirm-ok')).click();
      await waitUntil('wrong current password at its field', async () =>
        L.wrongCurrent.test((await i.locator(`${tid('password-current')} .v-messages`).textContent()) ?? ''),
      );
      await h.screenshot(i, '04-change-password');
      await fill(i, tid('password-current'), invitee.password);
      const changed = await withResponse(i, 'POST', /\/api\/auth\/password$/, () =>
        dialog.locator(tid('confirm-ok')).click(),
      );
      assert((await changed.json()).ended_sessions === 1, 'the other session was ended');
      await snackbar(i, L.passwordChanged);
      await dialog.waitFor({ state: 'hidden' });
      // the other browser's session is gone: it lands on the sign-in page
      for (let n = 0; n < 4; n++) h.expectConsoleError(/\[invitee-2\] console: .*status of 401/);
      await second.page.goto('/projects');
      await second.page.waitForURL(/\/login/);
      await second.context.close();

      // ---------- the old password no longer signs in; the new one does ----------
      await accountMenu(i, 'sign-out');
      await i.waitForURL(/\/login/);
      await fill(i, tid('login-email'), invitee.email);
      await fill(i, tid('login-password'), invitee.password);
      h.expectConsoleError(/status of 401 .*\/api\/auth\/login\)$/);
      await i.locator(tid('login-submit')).click();
      await snackbar(i, L.badLogin);
      assert(/\/login/.test(i.url()), 'still on the sign-in page');
      await fill(i, tid('login-password'), newPassword);
      await i.locator(tid('login-submit')).click();
      await i.waitForURL(/\/projects$/);
      await card(i).waitFor();

      // ---------- sign out everywhere ----------
      await accountMenu(i, 'sign-out-all');
      const everywhere = i.locator(tid('sign-out-all-card'));
      await everywhere.waitFor();
      await withResponse(i, 'POST', /\/api\/auth\/logout-all$/, () => everywhere.locator(tid('confirm-ok')).click());
      await i.waitForURL(/\/login/);
      await snackbar(i, L.signedOutAll);
      await i.goto('/projects');
      await i.waitForURL(/\/login/);
    },
  };
}

export const specs = [membership('en'), membership('ru')];
