package api

// visitRoutes are consent, the visit's page, check-in, intake, the waiting room, the
// on-demand queue and guests (package visits).
func (a *API) visitRoutes() []Route {
	return nil
}
